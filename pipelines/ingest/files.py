"""Ingesting raw files: one file into staged Parquet parts, or every new file of raw/ at once."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pipelines.errors import UserError
from pipelines.ingest.access_logs import PARSE_THREADS, ingest_log
from pipelines.ingest.ledger import content_owner, discover, record
from pipelines.ingest.parts import PartWriter, discard_staging, new_staging
from pipelines.ingest.raw_files import (
    GZIP_MAGIC,
    INGESTED,
    PROBLEM,
    SKIPPED_DUPLICATE,
    FileResult,
    Fingerprint,
    RawFile,
    UnusableFile,
    fingerprint,
    reading_order,
)
from pipelines.pseudonym import load_key
from pipelines.settings import Settings

# The warehouse table that holds the accepted rows of each kind of CSV export.
EXPORT_TABLES = {"directory": "directory", "reference": "colleges", "loans": "loans", "needs": "needs"}


@dataclass(frozen=True)
class IngestReport:
    """What a run of ingestion did: every file it looked at, and one line per unusable file."""

    files: list[FileResult]
    problems: list[str]


def ingest_raw(settings: Settings, processes: int = 0) -> IngestReport:
    """Ingest every new or changed raw file of every kind, then record them in the ledger.

    With `processes`, that many worker processes read the files (pipelines/ingest/workers.py),
    and this process reads those whose worker was killed; otherwise it reads them all, one after
    the other.
    """
    raw_files = discover(settings)
    key = load_key(settings)
    if processes and raw_files:
        from pipelines.ingest.workers import IngestWorkers

        workers = IngestWorkers(processes)
        try:
            begun = [(raw_file, workers.submit(settings, key, raw_file))
                     for raw_file in reading_order(settings.raw_dir, raw_files)]
            results = [workers.result(future) or ingest_file(settings, key, raw_file) for raw_file, future in begun]
        finally:
            workers.close()
    else:
        results = [ingest_file(settings, key, raw_file) for raw_file in raw_files]
    recorded = record(settings, results)
    return IngestReport(files=recorded, problems=[result.problem for result in recorded if result.problem])


def ingest_file(settings: Settings, key: bytes, raw_file: RawFile, parse_threads: int = PARSE_THREADS) -> FileResult:
    """Read one raw file into staged Parquet parts, writing no ledger; an unusable file gives a problem.

    A log is parsed `parse_threads` chunks at a time (one in worker processes reading side by side).
    """
    path = settings.raw_dir / raw_file.path
    staging = None
    try:
        content = fingerprint(path)
        found = FileResult(raw_file.path, raw_file.kind, content.size, content.mtime_ns, content.file_id)
        owner = content_owner(settings, content.file_id, raw_file.path)
        if owner is not None:
            return _already_ingested(found, owner)
        staging = new_staging(settings.warehouse_dir)
        lines_read, lines_accepted, lines_rejected = _ingest_content(
            settings, key, raw_file, content, staging, parse_threads
        )
    except (UnusableFile, UserError) as error:
        if staging is not None:
            discard_staging(staging)
        problem = str(error) if isinstance(error, UserError) else f"{raw_file.path}: {error}"
        return FileResult(
            raw_file.path, raw_file.kind, raw_file.size, raw_file.mtime_ns, status=PROBLEM, problem=problem
        )
    return replace(
        found,
        lines_read=lines_read,
        lines_accepted=lines_accepted,
        lines_rejected=lines_rejected,
        staging=staging.relative_to(settings.warehouse_dir).as_posix(),
    )


def _already_ingested(found: FileResult, owner: dict) -> FileResult:
    """A content whose parts are already in the warehouse: nothing to write, its counts from the ledger."""
    return replace(
        found,
        status=INGESTED if owner["path"] == found.path else SKIPPED_DUPLICATE,
        lines_read=owner["lines_read"],
        lines_accepted=owner["lines_accepted"],
        lines_rejected=owner["lines_rejected"],
    )


def _ingest_content(
    settings: Settings, key: bytes, raw_file: RawFile, content: Fingerprint, staging: Path, parse_threads: int
) -> tuple[int, int, int]:
    """Parse a file of any kind into its staging folder; returns lines (or rows) read, accepted, rejected."""
    path = settings.raw_dir / raw_file.path
    if raw_file.kind == "logs":
        counts = ingest_log(key, path, raw_file.path, content, settings.timezone, staging, parse_threads)
        return counts.read, counts.accepted, counts.rejected
    return ingest_export(key, raw_file, path, content, staging)


def ingest_export(
    key: bytes, raw_file: RawFile, path: Path, content: Fingerprint, staging: Path
) -> tuple[int, int, int]:
    """Parse a CSV export into its staged table part and csv_rejects part; returns rows read, accepted, rejected."""
    from pipelines.ingest.exports import parse_export

    parsed = parse_export(raw_file.kind, _plain_copy(path, staging), raw_file.path, key)
    file_id = pl.lit(content.file_id, dtype=pl.String).alias("file_id")
    with PartWriter(staging, content.file_id) as parts:
        parts.write(EXPORT_TABLES[raw_file.kind], parsed.accepted.select(file_id, pl.all()))
        if parsed.rejects.height:
            parts.write("csv_rejects", parsed.rejects.select(file_id, pl.all()))
    return parsed.rows_read, parsed.accepted.height, parsed.rejects.height


def _plain_copy(path: Path, staging: Path) -> Path:
    """The file itself, or for a gzip file its decompressed copy in the staging folder."""
    with open(path, "rb") as handle:
        if handle.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            return path
    copy = staging / "content"
    with gzip.open(path, "rb") as compressed, open(copy, "wb") as plain:
        shutil.copyfileobj(compressed, plain)
    return copy
