"""A small hand-written warehouse for the dashboard tests: the marts of docs/architecture.md, a few rows each.

Three collèges: A (REP+, 400 pupils), B (REP, 200 pupils) and one whose name is an HTML payload
(no priority, 100 pupils). Figures the tests rely on are stated next to the rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.settings import Settings

A, B, X = "0920001A", "0920002B", "0920003C"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"

# uai, name, commune, commune_insee, sector, education_priority, students, has_ulis, latitude, longitude
COLLEGES = [
    (A, "Collège Les Tilleuls", "Asnières-sur-Seine", "92004", "public", "REP+", 400, True, 48.9145, 2.2870),
    (B, "Collège Jean Moulin", "Bourg-la-Reine", "92014", "public", "REP", 200, False, 48.7800, 2.3160),
    (X, HOSTILE_NAME, "Antony", "92002", "public", "none", 100, False, 48.7540, 2.2980),
]

# local day, profile, uai, local hour, service, visits, page views per visit.
VISIT_GROUPS = [
    ("2020-03-13", "eleve", A, 10, "messagerie", 6, 2),
    ("2020-03-13", "enseignant", A, 8, "cahier-de-textes", 2, 3),
    ("2020-03-16", "eleve", A, 9, "espaces", 20, 3),
    ("2020-03-16", "eleve", B, 9, "messagerie", 7, 1),
    ("2020-03-16", "parent", B, 20, "messagerie", 3, 1),
    ("2020-03-16", "eleve", X, 14, "espaces", 5, 2),
    ("2020-03-16", "anonyme", None, 11, "accueil", 4, 1),
    ("2020-03-17", "eleve", A, 10, "espaces", 10, 4),
    ("2020-03-17", "enseignant", B, 10, "cahier-de-textes", 5, 2),
    ("2020-03-23", "eleve", A, 10, "<b>ressources</b>", 8, 1),
]
# Daily visits by profile: eleve 6, 32, 10, 8; enseignant 2 (hidden), 5; parent 3 (hidden); anonyme 4 (hidden).
# Visits by collège: A 46 (0.115 per pupil), B 15 (0.075), X 5 (0.05).

# space id, local day, page views, visitors: 2 spaces in the week of 9 March (hidden), 6 in the week of 16 March.
SPACE_DAYS = [
    ("maths-5a", "2020-03-13", 4, 2), ("histoire-4b", "2020-03-13", 3, 1),
    ("maths-5a", "2020-03-16", 9, 5), ("sciences", "2020-03-16", 6, 3), ("anglais_3c", "2020-03-16", 5, 2),
    ("latin", "2020-03-17", 2, 1), ("musique", "2020-03-17", 3, 2), ("eps-6d", "2020-03-17", 4, 2),
]

# loan id, device type, transfer, recipient type, recipient key, uai, start date, end date
DEVICES = [
    *[(f"L{n}", "ultraportable", "pret", "eleve", f"p{n}", A, "2020-03-18", None) for n in range(1, 7)],
    ("L7", "tablette", "don", "eleve", "p7", X, "2020-03-20", None),
    ("L8", "tablette", "don", "eleve", "p8", X, "2020-03-20", None),
    ("L20", "ultraportable", "pret", "enseignant", "t1", B, "2020-03-17", None),
    ("L21", "pc_recycle", "pret", "enseignant", "t2", B, "2020-03-19", "2020-03-21"),
]
# Ultraportables 7 (6 pupils, 1 teacher), tablettes 2 (hidden), PC 1 (hidden); in service on 23 March: 9.

# need id, pupil key, uai, criterion, identified on, first equipped on
NEEDS = [
    *[(f"N{n}", f"p{n}", A, "rep", "2020-03-16", "2020-03-18") for n in range(1, 7)],
    ("N9", "p9", A, "boursier", "2020-03-17", None),
    ("N10", "p10", A, "ase", "2020-03-17", None),
    ("N7", "p7", X, "ulis", "2020-03-16", "2020-03-20"),
    ("N8", "p8", X, "ulis", "2020-03-16", "2020-03-20"),
    ("N11", "p11", X, "autre", "2020-03-19", None),
    *[(f"N{n}", f"p{n}", B, "rep", "2020-03-18", None) for n in (12, 13, 14)],
]
# On 23 March: A 8 identified, 6 covered (75 %), 2 waiting since 17 March (6 days);
# B 3 identified, none covered, waiting since 18 March; X 3 identified, 2 covered, 1 waiting since 19 March.
# Days to equipment: 2 days for six needs, 4 days for two.

# local day, outcome, reason, lines
LOG_LINES = [
    ("2020-03-13", "accepted", None, 120),
    ("2020-03-13", "rejected", "unparseable line", 2),
    ("2020-03-16", "accepted", None, 340),
    ("2020-03-16", "rejected", "bad timestamp", 1),
    (None, "rejected", "unparseable line", 3),
]

# kind, source file, line number, reason, text
CSV_REJECTS = [
    ("loans", "loans/prets-2020-03-20.csv", 4, "unknown device_type 'phablette'",
     "L9;SN9;<script>alert(2)</script>;pret;eleve;9f2c;0920001A;2020-03-20;"),
    ("loans", "loans/prets-2020-03-20.csv", 7, "end_date before start_date",
     "L12;SN12;tablette;pret;eleve;77ab;0920001A;2020-03-20;2020-03-01"),
    ("needs", "needs/besoins.csv", 3, "unparseable date '32/03/2020'", "N99;c0de;0920002B;rep;32/03/2020"),
]

# path, kind, file id, status, lines read, accepted, rejected
LEDGER = [
    ("logs/access.log-20200314.gz", "logs", "a1", "ingested", 125, 120, 5),
    ("logs/access.log-20200317.gz", "logs", "a2", "ingested", 341, 340, 1),
    ("logs/<b>copie</b>.log.gz", "logs", "a1", "skipped_duplicate", 0, 0, 0),
    ("loans/prets-2020-03-20.csv", "loans", "c1", "ingested", 12, 10, 2),
    ("needs/besoins.csv", "needs", "c2", "ingested", 16, 15, 1),
]

MARTS_DDL = """
create schema marts;
create table marts.dim_colleges (uai varchar, name varchar, commune varchar, commune_insee varchar, sector varchar,
    education_priority varchar, students integer, has_ulis boolean, latitude double, longitude double);
create table marts.fct_visits (visit_id varchar, visitor_key varchar, profile varchar, uai varchar, local_day date,
    started_at timestamp, started_at_local timestamp, ended_at timestamp, page_views bigint, service varchar);
create table marts.fct_space_days (space_id varchar, local_day date, page_views bigint, visitors bigint);
create table marts.fct_devices (loan_id varchar, device_type varchar, transfer varchar, recipient_type varchar,
    recipient_key varchar, uai varchar, start_date date, end_date date);
create table marts.fct_needs (need_id varchar, pupil_key varchar, uai varchar, criterion varchar, identified_on date,
    first_equipped_on date, days_to_equipment integer);
create table marts.fct_log_lines_daily (local_day date, outcome varchar, reason varchar, lines bigint);
create table marts.fct_csv_rejects (kind varchar, source_file varchar, line_number bigint, reason varchar,
    text varchar);
"""

# The usage marts derive from the visits above, as the SQL models derive them from page views.
DERIVED_DDL = """
create table marts.fct_visitor_days as
    select local_day, visitor_key, profile, uai, count(*) as visits, sum(page_views) as page_views
    from marts.fct_visits group by all;
create table marts.fct_daily_usage as
    select local_day, uai, profile, service, sum(page_views) as page_views, count(*) as visits,
        count(distinct visitor_key) as visitors
    from marts.fct_visits group by all;
create table marts.fct_hourly_usage as
    select local_day, hour(started_at_local) as hour, sum(page_views) as page_views, count(*) as visits_started
    from marts.fct_visits group by all;
alter table marts.fct_visits drop column service;
update marts.fct_needs set days_to_equipment = first_equipped_on - identified_on;
"""


def visit_rows() -> list[tuple]:
    """One row per visit of VISIT_GROUPS; a group's visits share three visitors, a minute apart."""
    rows = []
    for day, profile, uai, hour, service, visits, pages in VISIT_GROUPS:
        for n in range(visits):
            start = dt.datetime.fromisoformat(day).replace(hour=hour, minute=n)
            visitor = f"{profile}-{uai}-{n % 3}"
            utc = start - dt.timedelta(hours=1)
            rows.append((f"{visitor}-{start:%Y%m%d%H%M}", visitor, profile, uai, day, utc, start,
                         utc + dt.timedelta(minutes=pages), pages, service))
    return rows


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    marks = ", ".join("?" * len(rows[0]))
    con.executemany(f"insert into {table} values ({marks})", rows)


def build_warehouse(data_dir: Path, rows: bool = True) -> Settings:
    """Write DATA_DIR/warehouse/ent.duckdb and ledger.parquet with the rows above (or empty marts, no ledger)."""
    warehouse = data_dir / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse / "ent.duckdb")) as con:
        con.execute(MARTS_DDL)
        if rows:
            _insert(con, "marts.dim_colleges", COLLEGES)
            _insert(con, "marts.fct_visits", visit_rows())
            _insert(con, "marts.fct_space_days", SPACE_DAYS)
            _insert(con, "marts.fct_devices", DEVICES)
            _insert(con, "marts.fct_needs", [(*need, None) for need in NEEDS])
            _insert(con, "marts.fct_log_lines_daily", LOG_LINES)
            _insert(con, "marts.fct_csv_rejects", CSV_REJECTS)
        con.execute(DERIVED_DDL)
        if rows:
            _write_ledger(con, warehouse / "ledger.parquet")
    return Settings(data_dir=data_dir)


def _write_ledger(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(
        "create temp table ledger (path varchar, kind varchar, size bigint, mtime_ns bigint, file_id varchar,"
        " status varchar, lines_read bigint, lines_accepted bigint, lines_rejected bigint, ingested_at timestamptz)"
    )
    ingested_at = dt.datetime(2020, 3, 24, 6, tzinfo=dt.UTC)
    rows = [(path_, kind, 1000, 0, file_id, status, read, accepted, rejected, ingested_at)
            for path_, kind, file_id, status, read, accepted, rejected in LEDGER]
    _insert(con, "ledger", rows)
    con.execute(f"copy ledger to '{path}' (format parquet)")
