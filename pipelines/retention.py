"""Retention: page-level rows are kept at most `retention_months` (CNIL: 25 months), aggregates for good.

The reference is the newest day of data, not the date of the run, so that running the
pipeline again on the same raw folder changes no figure. A day expires when it is more than
`retention_months` before that newest day. For each expiring day, the rows of the daily marts
(ARCHIVED_MARTS) are first copied to `warehouse/archive/<mart>/day=YYYY-MM-DD.parquet`, with the
mart's own columns; only then are its `access_log/day=.../` partition and its rejected lines
deleted. A rejected line without a date expires with the newest dated line of its own file
(or, for a file with no dated line at all, with the day it was ingested); their counts go to
`archive/fct_log_lines_daily/undated-<file_id>.parquet`.

A day is archived once: a day whose archive is complete is not archived again, so detail that
comes back for it (a late or re-ingested file, all older than the retention period) is deleted
without changing its archived figures. Every file is written under a temporary name and
renamed, and the detail goes only after its archive is complete, so a killed run loses nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import UserError
from pipelines.settings import Settings

ARCHIVED_MARTS = ("fct_daily_usage", "fct_hourly_usage", "fct_space_days", "fct_log_lines_daily")
ARCHIVE_DIR = "archive"
DAY_PREFIX = "day="


@dataclass(frozen=True)
class RetentionReport:
    """What retention did: its reference day and cutoff (first day kept), the days archived and deleted."""

    newest_day: dt.date | None
    cutoff: dt.date | None
    days_archived: tuple[dt.date, ...] = ()
    days_deleted: tuple[dt.date, ...] = ()
    rejects_deleted: int = 0


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` earlier, or that month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def partition_days(warehouse_dir: Path) -> dict[dt.date, Path]:
    """The day partitions of access_log, by day."""
    days = {}
    for folder in (warehouse_dir / "access_log").glob(DAY_PREFIX + "*"):
        try:
            days[dt.date.fromisoformat(folder.name.removeprefix(DAY_PREFIX))] = folder
        except ValueError:
            continue  # not a partition of ours
    return days


def reject_files(warehouse_dir: Path) -> list[Path]:
    """The rejected-line parts, one per raw log file."""
    return sorted(path for path in (warehouse_dir / "log_rejects").glob("*.parquet") if not path.name.startswith("."))


def reject_days(warehouse_dir: Path) -> pl.DataFrame:
    """file_id and local_day of every rejected line (local_day null when no date could be read)."""
    files = reject_files(warehouse_dir)
    if not files:
        return pl.DataFrame(schema={"file_id": pl.String, "local_day": pl.Date})
    return pl.concat([pl.read_parquet(path, columns=["file_id", "local_day"]) for path in files])


def newest_day(warehouse_dir: Path) -> dt.date | None:
    """The newest day of log data, accepted or rejected."""
    days = list(partition_days(warehouse_dir)) + reject_days(warehouse_dir)["local_day"].drop_nulls().to_list()
    return max(days, default=None)


def file_newest_days(warehouse_dir: Path, ledger: pl.DataFrame) -> dict[str, dt.date]:
    """For each log file_id, its newest dated line, else the day it was ingested (for its undated rejects)."""
    newest: dict[str, dt.date] = {}
    for day, folder in partition_days(warehouse_dir).items():
        for part in folder.glob("*.parquet"):
            file_id = part.name.removesuffix(".parquet")
            newest[file_id] = max(day, newest.get(file_id, day))
    dated = reject_days(warehouse_dir).drop_nulls("local_day").group_by("file_id").agg(pl.col("local_day").max())
    for file_id, day in dated.iter_rows():
        newest[file_id] = max(day, newest.get(file_id, day))
    for file_id, ingested_at in ledger.select("file_id", "ingested_at").drop_nulls().iter_rows():
        newest.setdefault(file_id, ingested_at.date())
    return newest


def archive_path(warehouse_dir: Path, mart: str, name: str) -> Path:
    return warehouse_dir / ARCHIVE_DIR / mart / f"{name}.parquet"


def _undated_archive(warehouse_dir: Path, part: Path) -> Path:
    return archive_path(warehouse_dir, "fct_log_lines_daily", f"undated-{part.stem}")


def is_archived(warehouse_dir: Path, day: dt.date) -> bool:
    """Whether every mart's archive of that day is in place (the last one written marks it complete)."""
    return all(archive_path(warehouse_dir, mart, f"{DAY_PREFIX}{day}").exists() for mart in ARCHIVED_MARTS)


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, select: str, params: list, target: Path) -> None:
    """Write a query's rows (maybe none) to a Parquet file, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute(f"COPY ({select}) TO '{_quoted(str(temporary))}' (FORMAT parquet)", params)
    os.replace(temporary, target)


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def archive_day(con: duckdb.DuckDBPyConnection, warehouse_dir: Path, day: dt.date) -> None:
    """Copy the day's rows of every archived mart to its archive file, in a fixed order."""
    for mart in ARCHIVED_MARTS:
        target = archive_path(warehouse_dir, mart, f"{DAY_PREFIX}{day}")
        _copy_to_parquet(con, f"SELECT * FROM marts.{mart} WHERE local_day = ?", [day], target)


def archive_undated_rejects(con: duckdb.DuckDBPyConnection, warehouse_dir: Path, part: Path) -> None:
    """Archive the counts of a reject part's undated lines by reason, as rows of fct_log_lines_daily."""
    select = (
        "SELECT * FROM marts.fct_log_lines_daily WHERE false UNION ALL BY NAME "
        "SELECT CAST(NULL AS DATE) AS local_day, 'rejected' AS outcome, reason, count(*) AS lines "
        f"FROM read_parquet('{_quoted(str(part))}') WHERE local_day IS NULL GROUP BY reason"
    )
    _copy_to_parquet(con, select, [], _undated_archive(warehouse_dir, part))


def open_marts(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the built models; refused when they are older than the last ingestion."""
    database = settings.warehouse_dir / "ent.duckdb"
    ledger = settings.warehouse_dir / "ledger.parquet"
    if not database.exists():
        raise UserError(f"{database} does not exist: build the models before applying retention")
    if ledger.exists() and ledger.stat().st_mtime_ns > database.stat().st_mtime_ns:
        raise UserError("the models are older than the last ingestion: build them before applying retention")
    return duckdb.connect(str(database), read_only=True)


def expired_rejects(part: Path, cutoff: dt.date, file_newest: dict[str, dt.date]) -> tuple[pl.DataFrame, int, int]:
    """A reject part's rows that stay, the number of dated and of undated rows that expire."""
    rejects = pl.read_parquet(part)
    file_id = part.name.removesuffix(".parquet")
    undated_expire = file_newest.get(file_id, cutoff) < cutoff
    dated_expired = rejects["local_day"].is_not_null() & (rejects["local_day"] < cutoff)
    undated_expired = rejects["local_day"].is_null() & undated_expire
    kept = rejects.filter(~(dated_expired | undated_expired))
    return kept, int(dated_expired.sum()), int(undated_expired.sum())


def _rewrite_or_remove(part: Path, kept: pl.DataFrame) -> None:
    """Replace a part by the rows it keeps, atomically; remove it when none is left."""
    if kept.height == 0:
        part.unlink()
        return
    temporary = part.with_name(f".{part.name}.{os.getpid()}.tmp")
    kept.write_parquet(temporary, compression="zstd")
    os.replace(temporary, part)


def expiring_days(warehouse_dir: Path, cutoff: dt.date) -> list[dt.date]:
    """The days before the cutoff that still have detail: an access_log partition or dated rejects."""
    dated = reject_days(warehouse_dir)["local_day"].drop_nulls().unique().to_list()
    return sorted({day for day in [*partition_days(warehouse_dir), *dated] if day < cutoff})


def apply_retention(settings: Settings, ledger: pl.DataFrame | None = None) -> RetentionReport:
    """Archive the daily aggregates of the expired days, then delete their page-level rows and rejects."""
    from pipelines.ingest import read_ledger

    warehouse = settings.warehouse_dir
    newest = newest_day(warehouse)
    if newest is None:
        return RetentionReport(None, None)
    cutoff = months_before(newest, settings.retention_months)
    days = expiring_days(warehouse, cutoff)
    file_newest = file_newest_days(warehouse, read_ledger(settings) if ledger is None else ledger)
    undated_parts = [part for part in reject_files(warehouse) if file_newest.get(part.stem, cutoff) < cutoff]
    if not days and not undated_parts:
        return RetentionReport(newest, cutoff)
    archived = archive_expiring(settings, days, undated_parts)
    return delete_expired(warehouse, newest, cutoff, days, archived, file_newest)


def archive_expiring(settings: Settings, days: list[dt.date], undated_parts: list[Path]) -> tuple[dt.date, ...]:
    """Archive each expiring day not archived yet, and the undated rejects that expire; returns the days archived."""
    warehouse = settings.warehouse_dir
    pending = [day for day in days if not is_archived(warehouse, day)]
    undated = [part for part in undated_parts if not _undated_archive(warehouse, part).exists()]
    if not pending and not undated:
        return ()
    con = open_marts(settings)
    try:
        for day in pending:
            archive_day(con, warehouse, day)
        for part in undated:
            archive_undated_rejects(con, warehouse, part)
    finally:
        con.close()
    return tuple(pending)


def delete_expired(
    warehouse: Path, newest: dt.date, cutoff: dt.date, days: list[dt.date], archived: tuple[dt.date, ...],
    file_newest: dict[str, dt.date],
) -> RetentionReport:
    """Delete the partitions of the expired days and the expired rejected lines (their archive is in place)."""
    partitions = partition_days(warehouse)
    deleted = [day for day in days if day in partitions]
    for day in deleted:
        shutil.rmtree(partitions[day])
    rejects_deleted = 0
    for part in reject_files(warehouse):
        kept, dated, undated = expired_rejects(part, cutoff, file_newest)
        if dated or undated:
            _rewrite_or_remove(part, kept)
            rejects_deleted += dated + undated
    return RetentionReport(newest, cutoff, archived, tuple(deleted), rejects_deleted)
