"""The ledger of raw files (`warehouse/ledger.parquet`): what was seen, what was ingested, what it gave.

One row per raw path. A path whose size and modification time are unchanged is not read again.
Each content (`file_id`) has exactly one row with status `ingested`, its owner, whose parts are
in the warehouse; any other path with the same content is `skipped_duplicate` and writes nothing.
When a path's content changes, its row is replaced; parts of a content that no row names any
more are deleted. The ledger is rewritten atomically after each file, and whatever a killed
run left behind (staged parts, parts of unrecorded content) is cleared by the next one, so a
run started again gives the same warehouse as an uninterrupted one.

Rows of raw files that disappeared stay, with their parts: the warehouse keeps the history
that rotated logs and old exports carried.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import polars as pl

from pipelines.errors import UserError
from pipelines.ingest.parts import clear_staging, discard_staging, place_parts, remove_parts_except
from pipelines.ingest.raw_files import INGESTED, KINDS, PROBLEM, SKIPPED_DUPLICATE, FileResult, RawFile
from pipelines.settings import Settings

LEDGER_FILE = "ledger.parquet"
LEDGER_SCHEMA = {
    "path": pl.String,
    "kind": pl.String,
    "size": pl.Int64,
    "mtime_ns": pl.Int64,
    "file_id": pl.String,
    "status": pl.String,
    "lines_read": pl.Int64,
    "lines_accepted": pl.Int64,
    "lines_rejected": pl.Int64,
    "ingested_at": pl.Datetime("us", "UTC"),
}


def ledger_path(settings: Settings) -> Path:
    return settings.warehouse_dir / LEDGER_FILE


def read_ledger(settings: Settings) -> pl.DataFrame:
    """The ledger as a frame (empty and typed when nothing was ingested yet)."""
    path = ledger_path(settings)
    if not path.exists():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    try:
        ledger = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise UserError(f"cannot read the ledger {path} ({error}); remove it to ingest everything again") from None
    missing = [column for column in LEDGER_SCHEMA if column not in ledger.columns]
    if missing:
        raise UserError(f"the ledger {path} lacks column(s) {', '.join(missing)}; remove it to ingest everything again")
    return ledger.select([pl.col(column).cast(dtype) for column, dtype in LEDGER_SCHEMA.items()])


def write_ledger(settings: Settings, ledger: pl.DataFrame) -> None:
    """Replace the ledger atomically: write a temporary file, then rename it into place."""
    path = ledger_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ledger.sort("path").write_parquet(temporary)
    os.replace(temporary, path)


def raw_files_on_disk(settings: Settings) -> list[RawFile]:
    """Every raw file of every kind, walking each kind's folder recursively, hidden names skipped."""
    raw_dir = settings.raw_dir
    if not raw_dir.is_dir():
        raise UserError(f"the raw data folder {raw_dir} does not exist")
    found = []
    for kind in KINDS:
        for folder, subfolders, names in os.walk(raw_dir / kind):
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
            for name in sorted(names):
                if not name.startswith("."):
                    found.append(_raw_file(raw_dir, Path(folder) / name, kind))
    return sorted(found, key=lambda raw_file: raw_file.path)


def _raw_file(raw_dir: Path, path: Path, kind: str) -> RawFile:
    """A raw file with its size and modification time; -1 for both when it cannot even be looked at."""
    relative = path.relative_to(raw_dir).as_posix()
    try:
        status = path.stat()
    except OSError:  # a dangling link, say: ingestion reports it as unreadable
        return RawFile(relative, kind, -1, -1)
    return RawFile(relative, kind, status.st_size, status.st_mtime_ns)


def discover(settings: Settings) -> list[RawFile]:
    """The raw files that are new or whose size or modification time changed, sorted by path."""
    ledger = read_ledger(settings)
    seen = set(ledger.select("path", "size", "mtime_ns").iter_rows())
    on_disk = raw_files_on_disk(settings)
    return [raw_file for raw_file in on_disk if (raw_file.path, raw_file.size, raw_file.mtime_ns) not in seen]


def content_owner(settings: Settings, file_id: str, path: str) -> dict | None:
    """The ledger row that will still own this content after this run, if any.

    That is the `ingested` row of the same content for this same path, or for another path that
    this run does not replace (unchanged on disk, or gone from it).
    """
    ledger = read_ledger(settings)
    owners = ledger.filter((pl.col("file_id") == file_id) & (pl.col("status") == INGESTED))
    for owner in owners.iter_rows(named=True):
        if owner["path"] == path or _unchanged_or_gone(settings, owner):
            return owner
    return None


def _unchanged_or_gone(settings: Settings, row: dict) -> bool:
    """Whether a ledger row's raw file still has its recorded size and time, or no longer exists."""
    try:
        status = (settings.raw_dir / row["path"]).stat()
    except FileNotFoundError:
        return True
    return (status.st_size, status.st_mtime_ns) == (row["size"], row["mtime_ns"])


def record(settings: Settings, results: list[FileResult]) -> list[FileResult]:
    """Place the parts of each result and update the ledger after each; returns results with final statuses.

    Unusable files (status `problem`) are not recorded, so the next run tries them again.
    """
    warehouse = settings.warehouse_dir
    clear_staging(warehouse, keep={warehouse / result.staging for result in results if result.staging})
    ledger = read_ledger(settings)
    recorded = []
    for result in sorted(results, key=lambda result: result.path):
        if result.status != PROBLEM:
            ledger, status = _record_one(warehouse, ledger, result)
            write_ledger(settings, ledger)
            result = replace(result, status=status)
        if result.staging:
            discard_staging(warehouse / result.staging)
        recorded.append(replace(result, staging=None))
    remove_parts_except(warehouse, set(ledger["file_id"].to_list()))
    return recorded


def _record_one(warehouse: Path, ledger: pl.DataFrame, result: FileResult) -> tuple[pl.DataFrame, str]:
    """The ledger with this result's row in place of its path's old one, and the row's status.

    The result's staged parts are placed first when it owns its content (no other path does).
    """
    others = ledger.filter(pl.col("path") != result.path)
    owned_elsewhere = others.filter((pl.col("file_id") == result.file_id) & (pl.col("status") == INGESTED)).height
    status = SKIPPED_DUPLICATE if owned_elsewhere else INGESTED
    if status == INGESTED and result.staging:
        place_parts(warehouse, warehouse / result.staging)
    row = pl.DataFrame(
        [
            {
                "path": result.path,
                "kind": result.kind,
                "size": result.size,
                "mtime_ns": result.mtime_ns,
                "file_id": result.file_id,
                "status": status,
                "lines_read": result.lines_read,
                "lines_accepted": result.lines_accepted,
                "lines_rejected": result.lines_rejected,
                "ingested_at": dt.datetime.now(dt.UTC),
            }
        ],
        schema=LEDGER_SCHEMA,
    )
    return _with_one_owner_each(pl.concat([others, row]).sort("path")), status


def _with_one_owner_each(ledger: pl.DataFrame) -> pl.DataFrame:
    """Hand each content left without an owner (its owner's path changed) to its first remaining path."""
    owned = ledger.filter(pl.col("status") == INGESTED)["file_id"].implode()
    first_of_content = pl.int_range(pl.len()).over("file_id") == 0
    orphaned = ~pl.col("file_id").is_in(owned) & first_of_content
    return ledger.with_columns(pl.when(orphaned).then(pl.lit(INGESTED)).otherwise(pl.col("status")).alias("status"))

