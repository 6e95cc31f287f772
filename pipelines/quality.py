"""`ent-analytics quality`: what was read, accepted, rejected and skipped, from the ledger of raw files."""

from __future__ import annotations

import polars as pl

from pipelines.errors import UserError
from pipelines.ingest.ledger import read_ledger
from pipelines.ingest.raw_files import INGESTED, SKIPPED_DUPLICATE
from pipelines.settings import Settings

# The contract's keys, in its order, with the label of the text table.
QUALITY_LABELS = {
    "files_ingested": "raw files ingested",
    "files_skipped_duplicate": "raw files skipped (content already ingested)",
    "log_lines_read": "access log lines read",
    "log_lines_accepted": "access log lines accepted",
    "log_lines_rejected": "access log lines rejected",
    "loan_rows_rejected": "loan rows rejected",
    "need_rows_rejected": "need rows rejected",
    "directory_rows_rejected": "directory rows rejected",
}


def quality_report(settings: Settings) -> dict[str, int]:
    """The contract's quality figures: files ingested and skipped, log lines and CSV rows rejected."""
    if not settings.data_dir.is_dir():
        raise UserError(f"the data folder {settings.data_dir} does not exist")
    ledger = read_ledger(settings)
    ingested = ledger.filter(pl.col("status") == INGESTED)

    def total(kind: str, column: str) -> int:
        return int(ingested.filter(pl.col("kind") == kind)[column].sum())

    return {
        "files_ingested": ingested.height,
        "files_skipped_duplicate": ledger.filter(pl.col("status") == SKIPPED_DUPLICATE).height,
        "log_lines_read": total("logs", "lines_read"),
        "log_lines_accepted": total("logs", "lines_accepted"),
        "log_lines_rejected": total("logs", "lines_rejected"),
        "loan_rows_rejected": total("loans", "lines_rejected"),
        "need_rows_rejected": total("needs", "lines_rejected"),
        "directory_rows_rejected": total("directory", "lines_rejected"),
    }


def render_quality(report: dict[str, int]) -> str:
    """The quality figures as a two-column text table, numbers aligned on the right."""
    width = max(len(label) for label in QUALITY_LABELS.values())
    numbers = {key: f"{report[key]:,}".replace(",", " ") for key in QUALITY_LABELS}
    digits = max(len(number) for number in numbers.values())
    rows = [f"{label:<{width}}  {numbers[key]:>{digits}}" for key, label in QUALITY_LABELS.items()]
    rule = "-" * (width + 2 + digits)
    return "\n".join(["Data quality", rule, *rows[:2], rule, *rows[2:5], rule, *rows[5:]])
