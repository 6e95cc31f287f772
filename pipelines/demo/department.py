"""`generate_demo`: a whole département in raw/ (logs and exports) and its true figures in truth.json.

The exports (collèges, directory, devices, needs) are the whole département's at every scale and,
for a seed, the same bytes whatever the scale; the scale sets the traffic in the logs.

The demo owns the five raw folders (logs, directory, reference, loans, needs) of the data folder it
is given: it empties them before writing, but only of files an earlier demo wrote (listed in
truth.json); any other file there stops it with an error, so real data is never deleted. The
warehouse is not touched.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo import exports, truth
from pipelines.demo.access_logs import LogOutcome, log_files, write_access_logs
from pipelines.demo.days import PERIODS
from pipelines.demo.equipment import build_loans, build_needs
from pipelines.demo.population import Population, build_population
from pipelines.demo.scale import resolve_scale
from pipelines.errors import UserError

RAW_KINDS = ("logs", "directory", "reference", "loans", "needs")
TRUTH_FILE = "truth.json"


@dataclass(frozen=True)
class CsvOutcome:
    """What the CSV writers wrote: the true loans, the exports' good rows (typed), the rows to reject, the files."""

    directory_profile: np.ndarray
    loans: pl.DataFrame
    loan_rows: pl.DataFrame
    need_rows: pl.DataFrame
    rejected: dict[str, int]
    files: tuple[str, ...]


def demo_files() -> list[str]:
    """Every file the demo writes, relative to raw/ (the same at any seed and scale)."""
    logs, duplicate = log_files()
    return [*logs, duplicate, f"directory/{exports.DIRECTORY_FILE}", f"reference/{exports.REFERENCE_FILE}",
            *(f"loans/{name}" for name in exports.LOAN_FILES), *(f"needs/{name}" for name in exports.NEED_FILES)]


def clear_previous_demo(raw_dir: Path, truth_path: Path) -> None:
    """Delete the files of an earlier demo from the raw folders; refuse if any other file is there."""
    listed: set[str] = set()
    if truth_path.exists():
        try:
            listed = set(json.loads(truth_path.read_text(encoding="utf-8")).get("files", []))
        except (OSError, ValueError, AttributeError) as error:
            raise UserError(f"{truth_path} is not an earlier demo's truth file ({error}); move it away first") from None
    found = sorted(path for kind in RAW_KINDS for path in (raw_dir / kind).rglob("*") if path.is_file())
    relative = [path.relative_to(raw_dir).as_posix() for path in found]
    foreign = [name for name in relative if name not in listed]
    if foreign:
        raise UserError(f"{raw_dir} holds {len(foreign)} file(s) the demo did not write (such as {foreign[0]}); "
                        "give the demo a data folder of its own")
    for path in found:
        path.unlink()
    # Listed before anything is written: an interrupted demo is cleared by the next one.
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps({"files": demo_files()}, indent=2) + "\n", encoding="utf-8")


def write_exports(raw_dir: Path, population: Population, rng: np.random.Generator) -> CsvOutcome:
    """The reference, directory, loans and needs exports: the whole département's, whatever the scale."""
    needs = build_needs(population, rng)
    loans = build_loans(population, needs, rng)
    reference = exports.write_reference(raw_dir, population)
    directory_profile, directory_rejected, directory = exports.write_directory(raw_dir, population, rng)
    loan_rows, loans_rejected, loan_files = exports.write_loans(raw_dir, loans, population, rng)
    need_rows, needs_rejected, need_files = exports.write_needs(raw_dir, needs, population, rng)
    rejected = {"loan_rows_rejected": loans_rejected, "need_rows_rejected": needs_rejected,
                "directory_rows_rejected": directory_rejected}
    files = (reference, directory, *loan_files, *need_files)
    return CsvOutcome(directory_profile, loans, loan_rows, need_rows, rejected, files)


def quality_truth(csv: CsvOutcome, logs: LogOutcome) -> dict:
    """The contract's quality figures for the demo's raw folder (the duplicate log is skipped)."""
    return {
        "files_ingested": len(logs.files) + len(csv.files),
        "files_skipped_duplicate": 1,
        "log_lines_read": logs.lines_read,
        "log_lines_accepted": logs.lines_read - logs.lines_rejected,
        "log_lines_rejected": logs.lines_rejected,
        **csv.rejected,
    }


def headline_truth(csv: CsvOutcome, logs: LogOutcome, start: dt.date, end: dt.date) -> dict:
    """The contract's headline figures for one period, with visits, page views and visitors by profile."""
    usage = truth.usage_figures(list(logs.usage), start, end, csv.directory_profile)
    loans = truth.latest_loans(csv.loan_rows)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        **{key: usage[key] for key in ("visits", "page_views", "unique_visitors", "collaborative_spaces_used")},
        "devices": truth.device_figures(loans, start, end),
        "needs": truth.need_figures(csv.need_rows, loans, end),
        "by_profile": usage["by_profile"],
    }


def daily_truth(csv: CsvOutcome, logs: LogOutcome) -> list[dict]:
    """Visits, page views, unique visitors and spaces used of each local day."""
    figures = []
    for usage in logs.usage:
        day = truth.usage_figures([usage], usage.day, usage.day, csv.directory_profile)
        figures.append({"day": usage.day.isoformat(), **{key: day[key] for key in
                        ("visits", "page_views", "unique_visitors", "collaborative_spaces_used")}})
    return figures


def generate_demo(raw_dir: Path, seed: int = 2020, scale: str | float = "small") -> Path:
    """Write a generated département into raw_dir, its traffic at a scale, and its true figures; returns truth.json."""
    factor = resolve_scale(scale)
    raw_dir = Path(raw_dir)
    truth_path = raw_dir.parent / TRUTH_FILE
    clear_previous_demo(raw_dir, truth_path)
    people, traffic = np.random.default_rng(seed), np.random.default_rng([seed, 10])
    population = build_population(factor, people, traffic)
    csv = write_exports(raw_dir, population, people)
    logs = write_access_logs(raw_dir, population, csv.directory_profile, csv.loans, factor, seed)
    figures = {
        "generator": {"seed": seed, "scale": scale},
        "quality": quality_truth(csv, logs),
        "headlines": [headline_truth(csv, logs, start, end) for start, end in PERIODS],
        "days": daily_truth(csv, logs),
        "files": demo_files(),
    }
    truth_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth_path
