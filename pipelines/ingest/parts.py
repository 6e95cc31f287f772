"""The Parquet parts of raw files: written into a staging folder, then renamed into the warehouse.

Each raw file's parts are named after its `file_id` (`access_log/day=2020-03-29/<file_id>.parquet`,
`log_rejects/<file_id>.parquet`, ...). Ingestion writes them under `warehouse/.staging/<token>/`
with the same layout; only the ledger's driver renames them into place, so a reader never sees
half a file and a killed run leaves nothing that the next run does not clear.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from types import TracebackType

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

STAGING_DIR = ".staging"
# Every table that holds parts of raw files, as folders of the warehouse.
PART_TABLES = ("access_log", "log_rejects", "directory", "colleges", "loans", "needs", "csv_rejects")
_PART_NAME = re.compile(r"^[0-9a-f]{16}\.parquet$")
# zstd's fastest level: as small as its default level on log parts, and quicker to write.
PARQUET_DEFAULTS = {"compression": "zstd", "compression_level": 1}


def new_staging(warehouse_dir: Path) -> Path:
    """A fresh, empty staging folder for the parts of one raw file."""
    staging = warehouse_dir / STAGING_DIR / uuid.uuid4().hex
    staging.mkdir(parents=True)
    return staging


class PartWriter:
    """Writes the parts of one raw file into its staging folder, appending chunk after chunk."""

    def __init__(self, staging: Path, file_id: str) -> None:
        self.staging = staging
        self.file_id = file_id
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, folder: str, rows: pl.DataFrame, schema: pa.Schema | None = None, **options: object) -> None:
        """Append rows to the part `folder/<file_id>.parquet` (folder like `access_log/day=2020-03-29`).

        With a schema the rows are cast to it, so that every chunk of a file writes the same types;
        `options` go to the Parquet writer when the part is opened.
        """
        table = rows.to_arrow() if schema is None else _cast(rows, schema)
        if folder not in self._writers:
            (self.staging / folder).mkdir(parents=True, exist_ok=True)
            target = self.staging / folder / f"{self.file_id}.parquet"
            self._writers[folder] = pq.ParquetWriter(target, table.schema, **(PARQUET_DEFAULTS | options))
        self._writers[folder].write_table(table)

    def close(self) -> None:
        """Finish every part (their footers are written here)."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _cast(rows: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """The rows as an Arrow table of this schema, strings left in polars' own view layout.

    Converting polars strings to Arrow's plain layout copies every byte of them (a fifth of a
    log part's writing time); Parquet stores both layouts as the same UTF-8 strings.
    """
    views = pa.schema(
        [field.with_type(pa.string_view()) if field.type == pa.string() else field for field in schema]
    )
    return rows.to_arrow(compat_level=pl.CompatLevel.newest()).select(schema.names).cast(views)


def place_parts(warehouse_dir: Path, staging: Path) -> list[Path]:
    """Rename every staged part into the warehouse at the same relative place; returns the parts placed."""
    placed = []
    for part in sorted(staging.rglob("*.parquet")):
        target = warehouse_dir / part.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
        placed.append(target)
    return placed


def discard_staging(staging: Path) -> None:
    """Remove a staging folder and whatever it still holds."""
    if staging.exists():
        shutil.rmtree(staging)


def clear_staging(warehouse_dir: Path, keep: set[Path]) -> None:
    """Remove the staging folders not in `keep` (left behind by a run that was killed)."""
    root = warehouse_dir / STAGING_DIR
    if not root.is_dir():
        return
    for staging in root.iterdir():
        if staging in keep:
            continue
        if staging.is_dir():
            discard_staging(staging)
        else:
            staging.unlink()


def part_files(warehouse_dir: Path) -> list[Path]:
    """Every part of every table, whatever its file_id."""
    parts = []
    for table in PART_TABLES:
        folder = warehouse_dir / table
        pattern = "*/*.parquet" if table == "access_log" else "*.parquet"
        parts.extend(path for path in folder.glob(pattern) if _PART_NAME.match(path.name))
    return sorted(parts)


def remove_parts_except(warehouse_dir: Path, file_ids: set[str]) -> list[Path]:
    """Delete the parts whose file_id is not in `file_ids` (content no raw file holds any more)."""
    removed = [part for part in part_files(warehouse_dir) if part.name.removesuffix(".parquet") not in file_ids]
    for part in removed:
        part.unlink()
    for day in {part.parent for part in removed if part.parent.name.startswith("day=")}:
        if not any(day.iterdir()):
            day.rmdir()
    return removed
