"""Retention: page-level rows older than the retention period go, their daily aggregates stay in archives."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from run_fixtures import write_directory, write_log
from pipelines.errors import UserError
from pipelines.ingest import ingest_raw
from pipelines.retention import ARCHIVED_MARTS, apply_retention, months_before, newest_day
from pipelines.settings import Settings
from pipelines.transform import build, discover_models

DAYS = (dt.date(2020, 1, 10), dt.date(2020, 2, 20), dt.date(2020, 3, 24))
EXPIRED = DAYS[:2]  # one month before 2020-03-24 is 2020-02-24


def settings_for(data_dir: Path, months: int = 1) -> Settings:
    return Settings(data_dir=data_dir, pseudonym_key="retention-test", retention_months=months)


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of logs (12 page views, 2 dated and 1 undated rejected line each), ingested and built."""
    data_dir = tmp_path_factory.mktemp("retention")
    settings = settings_for(data_dir)
    for day in DAYS:
        write_log(settings.raw_dir / "logs", day, page_views=12, rejects=2, undated_rejects=1)
    write_directory(settings.raw_dir)
    ingest_raw(settings)
    build(settings)
    return data_dir


@pytest.fixture
def data_dir(built_warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(built_warehouse, copy)
    return copy


def mart_rows(warehouse: Path, mart: str, days: tuple[dt.date, ...]) -> list[tuple]:
    with duckdb.connect(str(warehouse / "ent.duckdb"), read_only=True) as con:
        rows = con.execute(f"select * from marts.{mart} where local_day in ?", [list(days)]).fetchall()
    return sorted(rows, key=repr)


def archived_rows(warehouse: Path, mart: str, pattern: str = "day=*.parquet") -> list[tuple]:
    files = sorted((warehouse / "archive" / mart).glob(pattern))
    if not files:
        return []
    return sorted(duckdb.sql(f"select * from read_parquet({[str(f) for f in files]})").fetchall(), key=repr)


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.parquet"))}


@pytest.mark.parametrize(
    ("newest", "months", "cutoff"),
    [
        (dt.date(2022, 4, 30), 25, dt.date(2020, 3, 30)),
        (dt.date(2022, 5, 31), 25, dt.date(2020, 4, 30)),  # April has no 31st
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2020, 3, 24), 1, dt.date(2020, 2, 24)),
        (dt.date(2021, 1, 15), 13, dt.date(2019, 12, 15)),
    ],
)
def test_the_cutoff_is_counted_in_calendar_months_before_the_newest_day(
    newest: dt.date, months: int, cutoff: dt.date
) -> None:
    assert months_before(newest, months) == cutoff


def test_expired_days_are_archived_with_the_marts_columns_then_deleted(data_dir: Path) -> None:
    warehouse = data_dir / "warehouse"
    before = {mart: mart_rows(warehouse, mart, EXPIRED) for mart in ARCHIVED_MARTS}
    ledger = (warehouse / "ledger.parquet").read_bytes()

    report = apply_retention(settings_for(data_dir))

    assert (report.newest_day, report.cutoff) == (dt.date(2020, 3, 24), dt.date(2020, 2, 24))
    assert report.days_archived == report.days_deleted == EXPIRED
    assert report.rejects_deleted == 2 * 2 + 2  # the dated ones of two days, the undated ones of their two files
    assert sorted(p.name for p in (warehouse / "access_log").iterdir()) == ["day=2020-03-24"]
    for mart in ARCHIVED_MARTS:
        assert {p.name for p in (warehouse / "archive" / mart).glob("day=*")} == {f"day={d}.parquet" for d in EXPIRED}
        assert archived_rows(warehouse, mart) == before[mart], mart
        with duckdb.connect(str(warehouse / "ent.duckdb"), read_only=True) as con:
            mart_columns = [c[0] for c in con.execute(f"describe marts.{mart}").fetchall()]
        files = [str(f) for f in (warehouse / "archive" / mart).glob("*.parquet")]
        assert [c[0] for c in duckdb.sql(f"describe select * from read_parquet({files})").fetchall()] == mart_columns
    assert sum(row[3] for row in before["fct_log_lines_daily"] if row[1] == "accepted") == 24
    undated = archived_rows(warehouse, "fct_log_lines_daily", "undated-*.parquet")
    assert undated == [(None, "rejected", "not a log line", 1)] * 2
    rejects = pl.read_parquet(warehouse / "log_rejects" / "*.parquet")
    assert sorted(rejects["local_day"].to_list(), key=str) == [dt.date(2020, 3, 24)] * 2 + [None]
    assert (warehouse / "ledger.parquet").read_bytes() == ledger  # quality figures do not move


def test_retention_applied_again_changes_nothing(data_dir: Path) -> None:
    settings = settings_for(data_dir)
    apply_retention(settings)
    kept = file_bytes(settings.warehouse_dir)

    report = apply_retention(settings)

    assert report.days_archived == report.days_deleted == () and report.rejects_deleted == 0
    assert file_bytes(settings.warehouse_dir) == kept


def test_detail_back_for_an_archived_day_is_deleted_and_its_archive_kept(data_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(data_dir)
    partition = settings.warehouse_dir / "access_log" / "day=2020-01-10"
    shutil.copytree(partition, tmp_path / "saved")
    apply_retention(settings)
    archives = file_bytes(settings.warehouse_dir / "archive")
    shutil.copytree(tmp_path / "saved", partition)  # a run killed after archiving, before deleting

    report = apply_retention(settings)

    assert report.days_archived == () and report.days_deleted == (dt.date(2020, 1, 10),)
    assert not partition.exists()
    assert file_bytes(settings.warehouse_dir / "archive") == archives


def test_nothing_expires_within_the_retention_period(data_dir: Path) -> None:
    settings = settings_for(data_dir, months=25)
    kept = file_bytes(settings.warehouse_dir)

    report = apply_retention(settings)

    assert report.cutoff == dt.date(2018, 2, 24) and report.days_deleted == () and report.rejects_deleted == 0
    assert file_bytes(settings.warehouse_dir) == kept
    assert newest_day(settings.warehouse_dir) == dt.date(2020, 3, 24)


def test_retention_refuses_models_older_than_the_last_ingestion(data_dir: Path) -> None:
    settings = settings_for(data_dir)
    database = settings.warehouse_dir / "ent.duckdb"
    os.utime(database, ns=(database.stat().st_mtime_ns - 10**10,) * 2)
    kept = file_bytes(settings.warehouse_dir)

    with pytest.raises(UserError, match="older than the last ingestion"):
        apply_retention(settings)
    assert file_bytes(settings.warehouse_dir) == kept


def test_daily_figures_of_archived_days_survive_a_rebuild(data_dir: Path) -> None:
    if not any("archive" in model.sql for model in discover_models().values()):
        pytest.skip("the SQL models do not read warehouse/archive yet")
    settings = settings_for(data_dir)
    before = {mart: mart_rows(settings.warehouse_dir, mart, DAYS) for mart in ARCHIVED_MARTS}
    apply_retention(settings)

    build(settings)

    assert {mart: mart_rows(settings.warehouse_dir, mart, DAYS) for mart in ARCHIVED_MARTS} == before
