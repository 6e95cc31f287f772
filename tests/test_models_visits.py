"""Sessionisation: who a visitor is, when a visit ends, and the marts counted from visits."""

from __future__ import annotations

import datetime as dt

from sql_fixtures import build, insert, log_line, raw_connection, records, select

from pipelines.settings import Settings

VISITS = "marts.fct_visits"


def visits(con) -> list[tuple]:
    """(visitor, local day, wall time of the start, page views) of each visit, in order."""
    return select(con, f"SELECT visitor_key, local_day::varchar, strftime(started_at_local, '%H:%M:%S'), page_views "
                       f"FROM {VISITS} ORDER BY started_at, visitor_key")


def test_exactly_thirty_minutes_stays_in_the_visit():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 08:00:00"), log_line("2020-03-16 08:30:00")])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 2)]


def test_thirty_minutes_and_one_second_starts_a_new_visit():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 08:00:00"), log_line("2020-03-16 08:30:01")])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 1), ("visitor-1", "2020-03-16", "08:30:01", 1)]


def test_the_gap_is_measured_from_the_previous_page_view_not_the_visit_start():
    con = raw_connection()
    times = ["08:00:00", "08:25:00", "08:50:00", "09:15:00", "09:45:01"]
    insert(con, "access_log", [log_line(f"2020-03-16 {time}") for time in times])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 4), ("visitor-1", "2020-03-16", "09:45:01", 1)]


def test_visit_timeout_comes_from_the_settings():
    con = raw_connection()
    times = ["08:00:00", "08:10:00", "08:20:01"]
    insert(con, "access_log", [log_line(f"2020-03-16 {time}") for time in times])
    build(con, VISITS, settings=Settings(visit_timeout_minutes=10))
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 2), ("visitor-1", "2020-03-16", "08:20:01", 1)]


def test_dst_night_is_one_visit_of_seven_real_minutes():
    con = raw_connection()
    # 01:55 CET then 03:02 CEST: the clocks jumped from 02:00 to 03:00 in between
    insert(con, "access_log", [log_line("2020-03-29 01:55:00"), log_line("2020-03-29 03:02:00")])
    build(con, VISITS)
    assert records(con, f"SELECT started_at, started_at_local, ended_at, page_views FROM {VISITS}") == [{
        "started_at": dt.datetime(2020, 3, 29, 0, 55), "started_at_local": dt.datetime(2020, 3, 29, 1, 55),
        "ended_at": dt.datetime(2020, 3, 29, 1, 2), "page_views": 2,
    }]


def test_autumn_repeated_hour_keeps_time_order_and_the_first_wall_time():
    con = raw_connection()
    # 02:50 CEST, then 02:05 CET fifteen real minutes later
    insert(con, "access_log", [log_line("2020-10-25 02:50:00"), log_line("2020-10-25 02:05:00", fold=1)])
    build(con, VISITS, "marts.fct_hourly_usage")
    assert visits(con) == [("visitor-1", "2020-10-25", "02:50:00", 2)]
    assert select(con, "SELECT hour, page_views, visits_started FROM marts.fct_hourly_usage") == [(2, 2, 1)]


def test_midnight_splits_a_visit_and_each_part_belongs_to_its_day():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 23:50:00"), log_line("2020-03-17 00:05:00")])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "23:50:00", 1), ("visitor-1", "2020-03-17", "00:05:00", 1)]


def test_api_polling_during_a_pause_neither_keeps_the_visit_alive_nor_counts():
    con = raw_connection()
    polls = [log_line(f"2020-03-16 08:{m:02d}:00", path="/api/notifications") for m in range(5, 60, 5)]
    insert(con, "access_log", [log_line("2020-03-16 08:00:00", path="/messagerie"), *polls,
                               log_line("2020-03-16 09:00:00", path="/messagerie")])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 1), ("visitor-1", "2020-03-16", "09:00:00", 1)]


def test_anonymous_visitors_sharing_an_ip_with_different_browsers_are_two_visitors():
    con = raw_connection()
    # ingestion keys an anonymous visitor by (IP, user agent): same IP, two browsers, two keys
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="anon-10.0.0.1-firefox", user_agent="Firefox/74.0"),
        log_line("2020-03-16 08:01:00", visitor="anon-10.0.0.1-chrome", user_agent="Chrome/80.0"),
        log_line("2020-03-16 08:02:00", visitor="anon-10.0.0.1-firefox", user_agent="Firefox/74.0"),
    ])
    build(con, VISITS, "marts.fct_visitor_days")
    assert visits(con) == [("anon-10.0.0.1-firefox", "2020-03-16", "08:00:00", 2),
                           ("anon-10.0.0.1-chrome", "2020-03-16", "08:01:00", 1)]
    assert select(con, "SELECT count(*), sum(visits) FROM marts.fct_visitor_days") == [(2, 2)]


def test_a_login_changing_ip_stays_one_visitor_and_one_visit():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="anon-home", user="u-eleve"),
        log_line("2020-03-16 08:10:00", visitor="anon-4g", user="u-eleve"),
    ])
    build(con, VISITS)
    assert visits(con) == [("u-eleve", "2020-03-16", "08:00:00", 2)]


def test_page_views_of_the_same_second_are_one_visit():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 08:00:00", path="/"), log_line("2020-03-16 08:00:00", path="/notes")])
    build(con, VISITS)
    assert visits(con) == [("visitor-1", "2020-03-16", "08:00:00", 2)]


def test_visitor_days_count_visits_and_page_views_per_visitor_and_day():
    con = raw_connection()
    insert(con, "directory", [{"user_key": "u-eleve", "profile": "eleve", "uai": "0921170X", "source_file": "d.csv"}])
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="u-eleve", user="u-eleve"),
        log_line("2020-03-16 08:10:00", visitor="u-eleve", user="u-eleve"),
        log_line("2020-03-16 14:00:00", visitor="u-eleve", user="u-eleve"),
        log_line("2020-03-17 09:00:00", visitor="u-eleve", user="u-eleve"),
    ])
    build(con, "marts.fct_visitor_days")
    assert select(con, "SELECT local_day::varchar, visitor_key, profile, uai, visits, page_views "
                       "FROM marts.fct_visitor_days ORDER BY local_day") == [
        ("2020-03-16", "u-eleve", "eleve", "0921170X", 2, 3),
        ("2020-03-17", "u-eleve", "eleve", "0921170X", 1, 1),
    ]


def test_hourly_usage_counts_page_views_by_hour_and_visits_by_the_hour_they_start():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:50:00"), log_line("2020-03-16 09:05:00"), log_line("2020-03-16 09:10:00", visitor="b"),
    ])
    build(con, "marts.fct_hourly_usage")
    assert select(con, "SELECT hour, page_views, visits_started FROM marts.fct_hourly_usage ORDER BY hour") == [
        (8, 1, 1), (9, 2, 1)
    ]


def test_daily_usage_counts_a_visit_once_per_service_it_used():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", path="/"),
        log_line("2020-03-16 08:01:00", path="/messagerie/inbox"),
        log_line("2020-03-16 08:02:00", path="/messagerie/lire/4"),
        log_line("2020-03-16 10:00:00", path="/messagerie/inbox"),
        log_line("2020-03-16 10:00:00", visitor="b", path="/messagerie/inbox"),
    ])
    build(con, "marts.fct_daily_usage")
    assert select(con, "SELECT profile, service, page_views, visits, visitors FROM marts.fct_daily_usage "
                       "ORDER BY service") == [
        ("anonyme", "Accueil", 1, 1, 1), ("anonyme", "Courrier_Electronique", 4, 3, 2)
    ]


def test_visit_ids_are_unique_and_name_visitor_and_start():
    con = raw_connection()
    insert(con, "access_log", [log_line("2020-03-16 08:00:00"), log_line("2020-03-16 08:00:00", visitor="b"),
                               log_line("2020-03-16 09:00:00")])
    build(con, VISITS)
    ids = [visit_id for (visit_id,) in select(con, f"SELECT visit_id FROM {VISITS}")]
    assert len(set(ids)) == 3 and all(len(visit_id) == 32 for visit_id in ids)
