"""The jobs behind `ent-analytics run` and `ent-analytics demo`: the Prefect flow of pipelines/flows.py."""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import ModuleType

from pipelines.errors import UserError
from pipelines.prefect_env import configure_prefect
from pipelines.progress import RunSummary, render_summary
from pipelines.settings import Settings

LOCK_FILE = ".run.lock"


def _flows(settings: Settings) -> ModuleType:
    """pipelines.flows, with Prefect set up for this data folder before it is imported."""
    configure_prefect(settings.data_dir)
    from pipelines import flows

    return flows


def run(settings: Settings, dask_address: str | None = None) -> None:
    """Ingest what is new, rebuild and check the models, publish, apply retention; print the summary."""
    started = time.monotonic()
    if not settings.raw_dir.is_dir():  # before anything is written into a mistyped data folder
        raise UserError(f"the raw data folder {settings.raw_dir} does not exist")
    flows = _flows(settings)
    with flows.prefect_api() as api:
        summary = flows.run_pipeline(settings, dask_address, api=api)
    _report(summary, settings, started)


def demo(settings: Settings, seed: int, scale: str) -> None:
    """Write the generated demo department into DATA_DIR/raw, then run the whole pipeline."""
    from pipelines.demo import generate_demo

    started = time.monotonic()
    flows = _flows(settings)
    with flows.prefect_api() as api:  # starts while the demo data is written
        generate_demo(settings.raw_dir, seed=seed, scale=scale)
        summary = flows.run_pipeline(settings, api=api)
    _report(summary, settings, started)


def _report(summary: RunSummary, settings: Settings, started: float) -> None:
    """Print the summary, timed from the command's start; unreadable files then make the command fail."""
    print(render_summary(replace(summary, seconds=round(time.monotonic() - started, 1)), settings.retention_months))
    for problem in summary.problems:
        print(f"ent-analytics: {problem}", file=sys.stderr)
    if summary.problems:
        raise UserError(f"{len(summary.problems)} raw file(s) could not be read; everything else was ingested")


@contextmanager
def warehouse_lock(settings: Settings) -> Iterator[None]:
    """Hold the warehouse for one run at a time; the lock goes with the process, even killed."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.warehouse_dir / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another run is using {settings.warehouse_dir}; try again when it is done") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
