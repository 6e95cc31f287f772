"""What a run shows on the terminal: its progress as it goes, then a one-screen summary."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # both load polars and DuckDB: a run starts Prefect's API before that
    from pipelines.ingest import FileResult
    from pipelines.retention import RetentionReport

# Away from a terminal (cron, a Prefect worker), a progress line at most this often.
QUIET_SECONDS = 5.0


class Progress:
    """One status line, rewritten in place on a terminal; plain lines, now and then, elsewhere."""

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._last_shown = 0.0
        self._open_line = False

    def show(self, text: str, final: bool = False) -> None:
        """Show a status; on a terminal it replaces the previous one until a final status ends the line."""
        now = time.monotonic()
        if self.interactive:
            self.stream.write(f"\r\033[K{text}" + ("\n" if final else ""))
            self._open_line = not final
        elif final or now - self._last_shown >= QUIET_SECONDS:
            self.stream.write(text + "\n")
            self._last_shown = now
        self.stream.flush()

    def files(self, done: int, total: int, lines_read: int, lines_rejected: int) -> None:
        """Ingestion so far: files done out of total, log lines parsed and rejected."""
        text = f"ingest   {done}/{total} files, {lines_read:,} log lines parsed, {lines_rejected:,} rejected"
        self.show(text, final=done == total)

    def close(self) -> None:
        """End a status line left open."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for its last screen: files and lines, models and checks, retention, outputs."""

    data_dir: Path
    seconds: float
    files: tuple[FileResult, ...]
    quality: dict[str, int]
    models: int
    checks: int
    build_seconds: float
    retention: RetentionReport
    dashboards: Path
    headline: Path | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    # Local days rebuilt by an incremental build, or None when every day was (then `why_full` says why).
    rebuilt_days: int | None = None
    why_full: str = ""


def _rebuilt(summary: RunSummary) -> str:
    """Which days the build covered: the new ones only, or all of them and why."""
    if summary.rebuilt_days is None:
        return f"every day: {summary.why_full}" if summary.why_full else "every day"
    return f"{summary.rebuilt_days} day{'s' if summary.rebuilt_days != 1 else ''} rebuilt, the others kept"


def _count(results: tuple[FileResult, ...], status: str) -> int:
    return sum(result.status == status for result in results)


def _share(part: int, whole: int) -> str:
    if not whole:
        return ""
    percent = 100 * part / whole
    return f" ({percent:.2f} %)" if percent >= 0.01 or part == 0 else " (< 0.01 %)"


def retention_line(report: RetentionReport, months: int) -> str:
    """One line on what retention did."""
    if report.cutoff is None:
        return "no log data yet"
    kept = f"page-level rows kept from {report.cutoff} ({months} months before {report.newest_day})"
    if not report.days_deleted and not report.rejects_deleted:
        return f"{kept}; nothing expired"
    return (f"{kept}; {len(report.days_archived)} day(s) archived, {len(report.days_deleted)} deleted, "
            f"{report.rejects_deleted:,} rejected line(s) deleted")


def render_summary(summary: RunSummary, retention_months: int) -> str:
    """The run's last screen: read, rejected, built, retained, and where the dashboards are."""
    files, quality = summary.files, summary.quality
    warehouse_rejected = quality["log_lines_rejected"]
    csv_rejected = sum(quality[f"{kind}_rows_rejected"] for kind in ("directory", "loan", "need"))
    read = sum(result.lines_read for result in files if result.kind == "logs" and result.status == "ingested")
    rejected = sum(result.lines_rejected for result in files if result.kind == "logs" and result.status == "ingested")
    lines = [
        f"ent-analytics: done in {summary.seconds:.1f} s ({summary.data_dir})",
        f"  this run      {len(files)} raw file(s) looked at: {_count(files, 'ingested')} ingested, "
        f"{_count(files, 'skipped_duplicate')} duplicate(s) skipped, {len(summary.problems)} unreadable",
        f"                {read:,} log lines read, {rejected:,} rejected{_share(rejected, read)}",
        f"  warehouse     {quality['files_ingested']} file(s), {quality['log_lines_read']:,} log lines read, "
        f"{warehouse_rejected:,} rejected{_share(warehouse_rejected, quality['log_lines_read'])}; "
        f"CSV rows rejected: {csv_rejected:,}",
        f"  models        {summary.models} built, {summary.checks} checks passed in {summary.build_seconds:.1f} s"
        f" ({_rebuilt(summary)})",
        f"  retention     {retention_line(summary.retention, retention_months)}",
        f"  dashboards    {summary.dashboards / 'index.html'}",
    ]
    if summary.headline is not None:
        lines.append(f"  headline      {summary.headline}")
    lines.extend(f"  unreadable    {problem}" for problem in summary.problems)
    return "\n".join(lines)
