"""Which log lines are page views, and what each is enriched with (service, profile, collège, space)."""

from __future__ import annotations

from pathlib import Path

from pipelines.settings import Settings
from sql_fixtures import build, insert, log_line, raw_connection, records, select

PAGE_VIEWS = "intermediate.int_page_views__sessionised"


def page_view_times(con) -> list[str]:
    """The wall times of the page views, in order."""
    rows = select(con, f"SELECT strftime(local_ts, '%H:%M') FROM {PAGE_VIEWS} ORDER BY ts_utc")
    return [time for (time,) in rows]


def test_only_get_requests_are_page_views():
    con = raw_connection()
    methods = ["GET", "HEAD", "POST", "OPTIONS", "PUT"]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", method=m) for i, m in enumerate(methods)])
    build(con, PAGE_VIEWS)
    assert page_view_times(con) == ["08:00"]


def test_status_2xx_and_304_count_but_other_3xx_4xx_5xx_do_not():
    con = raw_connection()
    statuses = [200, 204, 301, 302, 304, 404, 500, 503]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", status=s) for i, s in enumerate(statuses)])
    build(con, PAGE_VIEWS)
    assert page_view_times(con) == ["08:00", "08:01", "08:04"]


def test_static_assets_are_not_page_views():
    con = raw_connection()
    paths = ["/app.js", "/css/site.CSS", "/img/logo.png", "/fonts/a.woff2", "/favicon.ico", "/cours.pdf", "/notes"]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", path=p) for i, p in enumerate(paths)])
    build(con, PAGE_VIEWS)
    # a PDF is a document the user opened, not a static asset
    assert page_view_times(con) == ["08:05", "08:06"]


def test_api_and_static_paths_are_not_page_views():
    con = raw_connection()
    paths = ["/api/notifications", "/static/aide.html", "/apiculture", "/statique"]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", path=p) for i, p in enumerate(paths)])
    build(con, PAGE_VIEWS)
    assert page_view_times(con) == ["08:02", "08:03"]


def test_robots_are_not_page_views_whatever_the_case():
    con = raw_connection()
    agents = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp)",
        "Baiduspider/2.0",
        "SiteCRAWLER 1.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:74.0) Gecko/20100101 Firefox/74.0",
        None,  # common log format: no user agent, so no robot
    ]
    rows = [log_line(f"2020-03-16 08:0{i}:00", visitor=f"v{i}", user_agent=a) for i, a in enumerate(agents)]
    insert(con, "access_log", rows)
    build(con, PAGE_VIEWS)
    assert page_view_times(con) == ["08:04", "08:05"]


def test_query_string_is_not_part_of_the_page():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", path="/messagerie", query="dossier=1"),
        # a query string left in the path is removed too
        log_line("2020-03-16 08:01:00", path="/messagerie?dossier=2"),
        log_line("2020-03-16 08:02:00", path="/css/site.css?v=3"),
    ])
    build(con, PAGE_VIEWS, "staging.stg_proxy__access_log")
    assert select(con, f"SELECT service FROM {PAGE_VIEWS} ORDER BY ts_utc") == [
        ("Courrier_Electronique",), ("Courrier_Electronique",)
    ]
    assert select(con, "SELECT path, query FROM staging.stg_proxy__access_log ORDER BY ts_utc") == [
        ("/messagerie", "dossier=1"), ("/messagerie", "dossier=2"), ("/css/site.css", "v=3")
    ]


def test_service_is_the_first_path_segment_mapped_through_the_services_table():
    con = raw_connection()
    paths = [
        "/", "/messagerie/inbox", "/cahier-de-textes/5e", "/vie-scolaire/notes", "/ressources/gar",
        "/espaces/club/mur", "/Messagerie/nouveau", "/jeux/morpion",
    ]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", path=p) for i, p in enumerate(paths)])
    build(con, PAGE_VIEWS)
    assert [s for (s,) in select(con, f"SELECT service FROM {PAGE_VIEWS} ORDER BY ts_utc")] == [
        "Accueil", "Courrier_Electronique", "Cahier_Textes", "Services_Vie_Scolaire", "Ressources_En_Ligne",
        "Travail_Collaboratif", "Courrier_Electronique", "Autre",
    ]


def test_services_file_setting_replaces_the_shipped_table(tmp_path: Path):
    services = tmp_path / "services.csv"
    services.write_text("Segment;Service\n/;Portail\nmessagerie;Mail\n", encoding="utf-8")
    con = raw_connection()
    paths = ["/", "/messagerie/inbox", "/cahier-de-textes/5e"]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", path=p) for i, p in enumerate(paths)])
    build(con, PAGE_VIEWS, settings=Settings(services_file=services))
    assert select(con, f"SELECT service FROM {PAGE_VIEWS} ORDER BY ts_utc") == [("Portail",), ("Mail",), ("Autre",)]


def test_profile_and_college_from_the_directory_anonyme_without_login_inconnu_when_missing():
    con = raw_connection()
    insert(con, "directory", [{"source_file": "directory/annuaire.csv", "user_key": "u-prof", "profile": "enseignant",
                               "uai": "0921170X"}])
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="u-prof", user="u-prof"),
        log_line("2020-03-16 08:01:00", visitor="anon-1"),
        log_line("2020-03-16 08:02:00", visitor="u-gone", user="u-gone"),
    ])
    build(con, PAGE_VIEWS)
    assert select(con, f"SELECT visitor_key, profile, uai FROM {PAGE_VIEWS} ORDER BY ts_utc") == [
        ("u-prof", "enseignant", "0921170X"), ("anon-1", "anonyme", None), ("u-gone", "inconnu", None)
    ]


def test_space_is_taken_from_espaces_pages_only():
    con = raw_connection()
    paths = [
        "/espaces/maths-5e", "/espaces/Club_Echecs/documents/12", "/api/espaces/maths-5e",
        "/espaces/theatre/photo.jpg", "/espacesperso/x", "/espaces/", "/espaces/a.b/mur",
    ]
    insert(con, "access_log", [log_line(f"2020-03-16 08:0{i}:00", path=p) for i, p in enumerate(paths)])
    build(con, PAGE_VIEWS, "marts.fct_space_days")
    assert select(con, f"SELECT strftime(local_ts, '%H:%M'), space_id FROM {PAGE_VIEWS} ORDER BY ts_utc") == [
        ("08:00", "maths-5e"), ("08:01", "Club_Echecs"), ("08:04", None), ("08:05", None), ("08:06", None)
    ]
    # the photo of a space is an asset: on its own it is no use of the space
    assert select(con, "SELECT space_id, local_day::varchar, page_views, visitors FROM marts.fct_space_days "
                       "ORDER BY space_id") == [("Club_Echecs", "2020-03-16", 1, 1), ("maths-5e", "2020-03-16", 1, 1)]


def test_space_days_count_distinct_visitors_per_day():
    con = raw_connection()
    insert(con, "access_log", [
        log_line("2020-03-16 08:00:00", visitor="a", path="/espaces/club"),
        log_line("2020-03-16 08:05:00", visitor="a", path="/espaces/club/mur"),
        log_line("2020-03-16 09:00:00", visitor="b", path="/espaces/club"),
        log_line("2020-03-17 09:00:00", visitor="b", path="/espaces/club"),
    ])
    build(con, "marts.fct_space_days")
    assert records(con, "SELECT local_day::varchar AS day, page_views, visitors FROM marts.fct_space_days "
                        "ORDER BY local_day") == [
        {"day": "2020-03-16", "page_views": 3, "visitors": 2}, {"day": "2020-03-17", "page_views": 1, "visitors": 1}
    ]
