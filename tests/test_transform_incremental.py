"""Incremental builds: only the days touched by new files are rebuilt, and the marts equal a full build's."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest
from run_fixtures import log_lines, warehouse_figures, write_directory, write_log

from pipelines import transform
from pipelines.ingest import ingest_raw
from pipelines.settings import Settings

KEY = "incremental-test"
# The spring DST night (29 March 2020) lies inside the period.
DAYS = tuple(dt.date(2020, 3, 27) + dt.timedelta(days=offset) for offset in range(4))


def settings_for(data_dir: Path, **changes: object) -> Settings:
    return Settings(data_dir=data_dir, pseudonym_key=KEY, **changes)


def write_late_log(logs_dir: Path, day: dt.date, page_views: int) -> Path:
    """A log arriving late with more lines of an old day (an hour later than the day's own file)."""
    lines = [line.replace(":08:", ":09:", 1) for line in log_lines(day, page_views, rejects=1, undated_rejects=1)]
    path = logs_dir / f"late-{day:%Y%m%d}.log.gz"
    with gzip.open(path, "wt", encoding="utf-8") as log:
        log.write("\n".join(lines) + "\n")
    return path


def add_days(data_dir: Path, days: tuple[dt.date, ...], page_views: int = 30) -> None:
    """Daily logs (each with dated and undated rejects) and the directory, as the ENT drops them."""
    for day in days:
        write_log(data_dir / "raw" / "logs", day, page_views, rejects=2, undated_rejects=1)
    write_directory(data_dir / "raw")


def ingest_and_build(settings: Settings, sql_dir: Path = transform.SQL_DIR) -> transform.BuildReport:
    ingest_raw(settings)
    return transform.build(settings, sql_dir)


def model_rows(data_dir: Path) -> dict[str, list[tuple]]:
    """Every mart's rows and the sessionised page views, sorted."""
    figures = warehouse_figures(data_dir)
    with duckdb.connect(str(data_dir / "warehouse" / "ent.duckdb"), read_only=True) as con:
        rows = con.execute("select * from intermediate.int_page_views__sessionised").fetchall()
    return figures | {"int_page_views__sessionised": sorted(rows, key=repr)}


def full_build_of_all_days(tmp_path: Path) -> dict[str, list[tuple]]:
    whole = tmp_path / "whole"
    add_days(whole, DAYS)
    write_late_log(whole / "raw" / "logs", DAYS[1], 9)
    report = ingest_and_build(settings_for(whole))
    assert report.rebuilt_days is None and report.why_full == "there is no previous database"
    return model_rows(whole)


def test_a_new_day_and_a_late_file_built_incrementally_equal_a_full_build(tmp_path: Path):
    expected = full_build_of_all_days(tmp_path)
    daily = tmp_path / "daily"
    add_days(daily, DAYS[:-1])
    assert ingest_and_build(settings_for(daily)).rebuilt_days is None
    add_days(daily, DAYS[-1:])
    write_late_log(daily / "raw" / "logs", DAYS[1], 9)
    report = ingest_and_build(settings_for(daily))
    # the new day, the late file's old day, the next day (a reject at 23:59 +0100 is 00:59 summer time)
    # and the undated rejects of both files
    assert report.rebuilt_days == (DAYS[1], DAYS[-1], DAYS[-1] + dt.timedelta(days=1), None)
    assert report.why_full == ""
    assert model_rows(daily) == expected
    assert len(expected["fct_visits"]) > 0 and len(expected["fct_log_lines_daily"]) == 9


def test_a_build_with_nothing_new_rebuilds_no_day_and_changes_nothing(tmp_path: Path):
    add_days(tmp_path, DAYS)
    ingest_and_build(settings_for(tmp_path))
    before = model_rows(tmp_path)
    report = ingest_and_build(settings_for(tmp_path))
    assert report.rebuilt_days == ()
    assert model_rows(tmp_path) == before


def test_a_changed_model_forces_a_full_build(tmp_path: Path):
    sql_dir = shutil.copytree(transform.SQL_DIR, tmp_path / "sql")
    data = tmp_path / "data"
    add_days(data, DAYS[:-1])
    ingest_and_build(settings_for(data), sql_dir)
    add_days(data, DAYS[-1:])
    hourly = sql_dir / "marts" / "fct_hourly_usage.sql"
    # hours now count from 1 (page views start at 08:00): only a full build shows it on the old days
    hourly.write_text(hourly.read_text().replace("hour(local_ts)", "(hour(local_ts) + 1)"))
    report = ingest_and_build(settings_for(data), sql_dir)
    assert report.rebuilt_days is None
    assert report.why_full == "the models, seeds or metric settings changed"
    with duckdb.connect(str(data / "warehouse" / "ent.duckdb"), read_only=True) as con:
        first_hours = con.execute("select local_day, min(hour) from marts.fct_hourly_usage group by all").fetchall()
    # 08:00 +0100 is 09:00 on the local wall clock from the DST night on
    assert sorted(first_hours) == [(day, 9 if day < DAYS[2] else 10) for day in DAYS]
    fresh = tmp_path / "fresh"
    add_days(fresh, DAYS)
    ingest_and_build(settings_for(fresh), sql_dir)
    assert model_rows(data) == model_rows(fresh)


def test_a_changed_metric_setting_forces_a_full_build(tmp_path: Path):
    add_days(tmp_path, DAYS)
    ingest_and_build(settings_for(tmp_path))
    visits_at_30 = len(model_rows(tmp_path)["fct_visits"])
    report = ingest_and_build(settings_for(tmp_path, visit_timeout_minutes=5))
    assert report.rebuilt_days is None
    fresh = tmp_path / "fresh"
    add_days(fresh, DAYS)
    ingest_and_build(settings_for(fresh, visit_timeout_minutes=5))
    assert model_rows(tmp_path) == model_rows(fresh)
    assert len(model_rows(fresh)["fct_visits"]) > visits_at_30


def test_a_new_directory_export_rebuilds_every_day(tmp_path: Path):
    add_days(tmp_path, DAYS)
    ingest_and_build(settings_for(tmp_path))
    later = tmp_path / "raw" / "directory" / "annuaire2.csv"
    later.write_text("user_id;profile;uai\neleve01;parent;0920009Z\n")
    report = ingest_and_build(settings_for(tmp_path))
    assert report.rebuilt_days is None
    assert report.why_full == "intermediate.int_directory__deduplicated changed, which every day's rows depend on"
    with duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb"), read_only=True) as con:
        days = con.execute("select count(distinct local_day) from marts.fct_visits where profile = 'parent'").fetchone()
    assert days == (len(DAYS),)


def test_removed_days_force_a_full_build(tmp_path: Path):
    add_days(tmp_path, DAYS)
    ingest_and_build(settings_for(tmp_path))
    shutil.rmtree(tmp_path / "warehouse" / "access_log" / f"day={DAYS[0]}")
    report = transform.build(settings_for(tmp_path))
    assert report.rebuilt_days is None and report.why_full == "page-level parts were removed (retention)"
    with duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb"), read_only=True) as con:
        first = con.execute("select min(local_day) from marts.fct_visits").fetchone()
    assert first == (DAYS[1],)


def test_a_full_build_can_be_asked_for(tmp_path: Path):
    add_days(tmp_path, DAYS)
    ingest_and_build(settings_for(tmp_path))
    report = transform.build(settings_for(tmp_path), full=True)
    assert report.rebuilt_days is None and report.why_full == "a full build was asked for"


def test_the_published_database_holds_no_delta_or_raw_schema(tmp_path: Path):
    add_days(tmp_path, DAYS[:-1])
    ingest_and_build(settings_for(tmp_path))
    add_days(tmp_path, DAYS[-1:])
    ingest_and_build(settings_for(tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse" / "ent.duckdb"), read_only=True) as con:
        found = con.execute("select schema_name from duckdb_schemas() where not internal").fetchall()
        schemas = {name for (name,) in found}
        views = con.execute("select count(*) from duckdb_views() where not internal").fetchone()
    assert schemas == {"staging", "intermediate", "marts", "seeds", transform.STATE_SCHEMA}
    assert views == (0,)


def test_the_by_day_models_are_the_page_level_ones():
    by_day = {model.name for model in transform.discover_models().values() if model.by_day}
    assert by_day == {
        "staging.stg_proxy__access_log", "staging.stg_proxy__log_rejects", "intermediate.int_page_views__sessionised",
        "marts.fct_visits", "marts.fct_visitor_days", "marts.fct_daily_usage", "marts.fct_hourly_usage",
        "marts.fct_space_days", "marts.fct_log_lines_daily",
    }


def test_a_by_day_check_reads_only_the_rebuilt_days_of_the_models_built_by_day(tmp_path: Path):
    check = "int_page_views__sessionised__line_unique"
    (tmp_path / "checks").mkdir()
    shutil.copy(transform.SQL_DIR / "checks" / f"{check}.sql", tmp_path / "checks")
    shutil.copytree(transform.SQL_DIR / "intermediate", tmp_path / "intermediate")
    con = duckdb.connect()
    for schema in ("intermediate", "delta_intermediate"):
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.int_page_views__sessionised (file_id VARCHAR, line_number BIGINT)")
    con.execute("INSERT INTO intermediate.int_page_views__sessionised VALUES ('f1', 1), ('f1', 2), ('f1', 2)")
    con.execute("INSERT INTO delta_intermediate.int_page_views__sessionised VALUES ('f2', 1)")
    by_day = frozenset({"intermediate.int_page_views__sessionised"})
    assert transform.run_checks(con, tmp_path, by_day) == [check]
    with pytest.raises(transform.CheckFailed, match=r"^check int_page_views__sessionised__line_unique failed"):
        transform.run_checks(con, tmp_path)
    con.execute("INSERT INTO delta_intermediate.int_page_views__sessionised VALUES ('f2', 1)")
    with pytest.raises(transform.CheckFailed, match=r"\(file_id=f2, line_number=1, copies=2\)"):
        transform.run_checks(con, tmp_path, by_day)
