"""Days whose detail retention archived: their daily figures come from warehouse/archive, whatever detail remains."""

from __future__ import annotations

import datetime as dt

from sql_fixtures import build, insert, log_line, raw_connection, select

ARCHIVED_MARTS = ("fct_daily_usage", "fct_hourly_usage", "fct_space_days", "fct_log_lines_daily")
OLD_DAY = dt.date(2020, 1, 10)


def archive(con, day: dt.date, marts: tuple[str, ...] = ARCHIVED_MARTS) -> None:
    """Retention's archive of one day: a file per mart, with one row of figures in each."""
    insert(con, "archive_files", [{"mart": mart, "file_name": f"day={day}.parquet"} for mart in marts])
    insert(con, "archive_daily_usage", [{"local_day": day, "uai": "0921170X", "profile": "eleve",
                                         "service": "Cahier_Textes", "page_views": 40, "visits": 9, "visitors": 7}])
    insert(con, "archive_hourly_usage", [{"local_day": day, "hour": 10, "page_views": 40, "visits_started": 9}])
    insert(con, "archive_space_days", [{"space_id": "club", "local_day": day, "page_views": 5, "visitors": 2}])
    insert(con, "archive_log_lines_daily", [{"local_day": day, "outcome": "accepted", "reason": None, "lines": 95}])


def test_an_archived_day_keeps_its_figures_even_when_detail_comes_back():
    con = raw_connection()
    archive(con, OLD_DAY)
    insert(con, "access_log", [log_line("2020-01-10 10:00:00", path="/espaces/club"),
                               log_line("2020-03-16 10:00:00", path="/espaces/club")])
    build(con, "marts.fct_daily_usage", "marts.fct_hourly_usage", "marts.fct_space_days", "marts.fct_log_lines_daily",
          "marts.fct_visits")
    assert select(con, "SELECT local_day::varchar, service, page_views, visits, visitors FROM marts.fct_daily_usage "
                       "ORDER BY local_day") == [("2020-01-10", "Cahier_Textes", 40, 9, 7),
                                                 ("2020-03-16", "Travail_Collaboratif", 1, 1, 1)]
    assert select(con, "SELECT local_day::varchar, hour, page_views FROM marts.fct_hourly_usage ORDER BY local_day") == [
        ("2020-01-10", 10, 40), ("2020-03-16", 10, 1)
    ]
    assert select(con, "SELECT local_day::varchar, page_views FROM marts.fct_space_days ORDER BY local_day") == [
        ("2020-01-10", 5), ("2020-03-16", 1)
    ]
    assert select(con, "SELECT local_day::varchar, lines FROM marts.fct_log_lines_daily ORDER BY local_day") == [
        ("2020-01-10", 95), ("2020-03-16", 1)
    ]
    # visit-level detail of an archived day is gone for good
    assert select(con, "SELECT local_day::varchar FROM marts.fct_visits") == [("2020-03-16",)]


def test_an_incomplete_archive_is_ignored_while_the_detail_is_there():
    con = raw_connection()
    # retention stopped after two of the four archives: it deletes nothing before all four are written
    archive(con, OLD_DAY, marts=ARCHIVED_MARTS[:2])
    insert(con, "access_log", [log_line("2020-01-10 10:00:00", path="/notes")])
    build(con, "marts.fct_daily_usage", "marts.fct_visits")
    assert select(con, "SELECT service, page_views FROM marts.fct_daily_usage") == [("Services_Vie_Scolaire", 1)]
    assert select(con, "SELECT count(*) FROM marts.fct_visits") == [(1,)]


def test_archived_undated_rejects_replace_their_detail_and_add_up_by_reason():
    con = raw_connection()
    insert(con, "archive_files", [{"mart": "fct_log_lines_daily", "file_name": "undated-f9.parquet"}])
    insert(con, "archive_log_lines_daily", [{"local_day": None, "outcome": "rejected", "reason": "not a log line",
                                             "lines": 2}])
    insert(con, "log_rejects", [{"source_file": "logs/a.log", "reason": "not a log line", "text": "x"}], "f9")
    insert(con, "log_rejects", [{"source_file": "logs/b.log", "reason": "not a log line", "text": "y"}], "f8")
    build(con, "marts.fct_log_lines_daily")
    assert select(con, "SELECT local_day, outcome, reason, lines FROM marts.fct_log_lines_daily") == [
        (None, "rejected", "not a log line", 3)
    ]
