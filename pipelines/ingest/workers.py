"""Raw files read by worker processes, one file each at a time.

Parsing a log is mostly polars work, but the glue between its steps holds Python's GIL; two
files read by threads of one process wait on each other for it, and on whatever else that
process does (importing Prefect, serving the flow). Two processes keep both cores busy: on 5
million lines, a third less time than two threads for the same CPU.

Workers are started by `spawn` (a fresh interpreter: forking a process whose polars threads
already run is unsafe), and each stops as soon as the process that started it is gone, even
killed: a worker never writes into a warehouse that another run may own by then.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars comes with them: the workers start before the caller imports it
    from pipelines.ingest.raw_files import FileResult, RawFile
    from pipelines.settings import Settings

# Chunks a worker parses at once: the other workers keep the other cores busy.
WORKER_PARSE_THREADS = 1
# How often a worker looks whether the process that started it is still there.
PARENT_CHECK_SECONDS = 0.2


class IngestWorkers:
    """A pool of worker processes that ingest raw files into staged parts (no ledger is written).

    The processes start at once, and import polars and the parsing code before any file is given.
    """

    def __init__(self, processes: int) -> None:
        self._pool = worker_pool(processes)
        self._closing = threading.Lock()
        self._closed = False
        for _ in range(processes):  # each submission starts one more process, until there are enough
            self._pool.submit(_import_ingestion)

    def submit(self, settings: Settings, key: bytes, raw_file: RawFile) -> Future[FileResult]:
        """Begin ingesting one raw file; its result is that of `ingest_file`, parsing one chunk at a time."""
        from pipelines.ingest.files import ingest_file

        return self._pool.submit(ingest_file, settings, key, raw_file, WORKER_PARSE_THREADS)

    @staticmethod
    def result(future: Future[FileResult]) -> FileResult | None:
        """A file's result, waiting for it; None when its worker was killed (out of memory, say): read it here then."""
        try:
            return future.result()
        except BrokenProcessPool:
            return None

    def close(self) -> None:
        """Drop the files not begun, finish those being read, and stop the workers; once, whoever asks."""
        with self._closing:  # the tasks taking the last two results may both ask at once
            if not self._closed:
                self._closed = True
                self._pool.shutdown(wait=True, cancel_futures=True)


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of processes started by `spawn`, each stopping with this process and ending at once when let go."""
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


def start_worker(parent: int) -> None:
    """In a worker process, first thing: stop with its parent, and end at once when its pool lets it go."""
    stop_with_parent(parent)
    atexit.register(_end_at_once)


def _end_at_once() -> None:
    """A worker's last step: its results are sent and its parts closed, so the process ends here.

    Letting Python free each of its objects first (the visitors it knows, polars' memory) kept the
    run waiting about half a second for its workers to stop.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def stop_with_parent(parent: int) -> None:
    """In a worker: leave at once when the process that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _import_ingestion() -> None:
    """In a worker, first thing: import what reading a file takes, while the caller finds the files."""
    import pipelines.ingest.files  # noqa: F401
