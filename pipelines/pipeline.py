"""The jobs behind `ent-analytics run` and `ent-analytics demo`: the Prefect flow of pipelines/flows.py.

A run starts its ingestion worker processes (pipelines/ingest/workers.py) and Prefect's local
API (a thread that imports Prefect's server) first, takes the warehouse, and gives the workers
the new raw files at once; the flow's ingestion tasks take each file's result as it is ready
(a file that was busy is read again by its task's retries). Nothing here imports Prefect.
"""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack, closing, contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import ModuleType

from pipelines.errors import UserError
from pipelines.ingest import workers as ingest_workers
from pipelines.prefect_api import LocalPrefectAPI, start_local_api
from pipelines.prefect_env import configure_prefect
from pipelines.progress import RunSummary, render_summary
from pipelines.settings import Settings, load_settings

LOCK_FILE = ".run.lock"
# Raw files read at once, by the head start's worker processes as by the flow's local task runner.
INGEST_WORKERS = 2


class HeadStart:
    """Raw files being read by worker processes before the flow's ingestion tasks ask for them.

    A run begins its new raw files before it imports Prefect (`_flows` below); a flow that was
    given no head start begins its own files the same way (pipelines.flows.ingest_files).
    `raw_files` None means the new raw files of the data folder; with none (ingestion goes to a
    Dask cluster), nothing is read here. `workers` already started are used (or stopped if
    there is nothing to read).
    """

    def __init__(
        self, settings: Settings, raw_files: list | None = None, workers: ingest_workers.IngestWorkers | None = None
    ) -> None:
        from pipelines import ingest
        from pipelines.pseudonym import load_key

        self.settings = run_settings(str(settings.data_dir), None)  # the flow's own: its tasks check it is the same
        raw_files = ingest.discover(self.settings) if raw_files is None else raw_files
        key = load_key(self.settings) if raw_files else b""
        if workers is not None and not raw_files:
            workers.close()
        self._workers = (workers or ingest_workers.IngestWorkers(INGEST_WORKERS)) if raw_files else None
        self._begun: dict[object, Future] = {
            raw_file: self._workers.submit(self.settings, key, raw_file)
            for raw_file in ingest.reading_order(self.settings.raw_dir, raw_files)
        }

    def take(self, raw_file: object) -> object | None:
        """The result of this raw file (waiting for it), if it was begun here, not taken yet, and its worker lived.

        Once every result is taken, the workers stop: the models are then built without them in memory.
        """
        future = self._begun.pop(raw_file, None)
        if future is None:
            return None
        result = self._workers.result(future)  # None from a killed worker: the task reads the file itself
        if not self._begun:
            self.close()
        return result

    def close(self) -> None:
        """Stop reading: files not begun are dropped, files being read are finished (their parts are cleared next run)."""
        if self._workers is not None:
            self._workers.close()


def run_settings(data_dir: str | None, dask_address: str | None) -> Settings:
    """The settings of a flow run: the environment's, for this data folder (made absolute for remote workers)."""
    settings = load_settings().with_data_dir(data_dir)
    settings = settings.with_data_dir(settings.data_dir.resolve())
    return replace(settings, dask_address=dask_address) if dask_address else settings


@contextmanager
def _flows(
    settings: Settings, head_start: bool, before: Callable[[], object] | None = None
) -> Iterator[tuple[ModuleType, LocalPrefectAPI | None, HeadStart]]:
    """pipelines.flows, the run's local Prefect API and its head start, in the order that saves time.

    Unless ingestion goes to a Dask cluster (`head_start` false), the ingestion worker processes
    start first and import polars; then the API's thread, which imports Prefect's server while
    `before` runs (the demo writes its data then); the warehouse is taken and the workers are
    given the new raw files; flows are imported once that thread has imported Prefect.
    """
    configure_prefect(settings.data_dir)
    with ExitStack() as stack:
        workers = ingest_workers.IngestWorkers(INGEST_WORKERS) if head_start else None
        if workers is not None:
            stack.callback(workers.close)
        api = start_local_api()
        if api is not None:
            stack.callback(api.stop)
        if before is not None:
            before()
        stack.enter_context(warehouse_lock(settings))
        begun = stack.enter_context(closing(HeadStart(settings, None if head_start else [], workers)))
        if api is not None:
            api.wait_for_imports()  # Prefect's modules, imported by the API's thread
        from pipelines import flows

        with flows.prefect_api(api) as api:
            yield flows, api, begun


def run(settings: Settings, dask_address: str | None = None) -> None:
    """Ingest what is new, rebuild and check the models, publish, apply retention; print the summary."""
    started = time.monotonic()
    if not settings.raw_dir.is_dir():  # before anything is written into a mistyped data folder
        raise UserError(f"the raw data folder {settings.raw_dir} does not exist")
    with _flows(settings, head_start=not (dask_address or settings.dask_address)) as (flows, api, begun):
        summary = flows.run_pipeline(settings, dask_address, api=api, head_start=begun)
    _report(summary, settings, started)


def demo(settings: Settings, seed: int, scale: str) -> None:
    """Write the generated demo department into DATA_DIR/raw (in a process of its own), then run the whole pipeline."""
    started = time.monotonic()
    write_demo = partial(_in_another_process, _generate_demo, settings.raw_dir, seed, scale)
    with _flows(settings, head_start=not settings.dask_address, before=write_demo) as (flows, api, begun):
        summary = flows.run_pipeline(settings, api=api, head_start=begun)
    _report(summary, settings, started)


def _generate_demo(raw_dir: Path, seed: int, scale: str) -> None:
    from pipelines.demo import generate_demo

    generate_demo(raw_dir, seed=seed, scale=scale)


def _in_another_process(function: Callable[..., None], *args: object) -> None:
    """Call a function in a new process and wait for it: this one's threads (the API's, importing
    Prefect) keep Python's lock to themselves meanwhile. The process stops if this one is killed."""
    with ingest_workers.worker_pool(1) as pool:
        pool.submit(function, *args).result()


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
