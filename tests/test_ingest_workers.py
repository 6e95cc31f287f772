"""Worker processes that read raw files: the same parts as in-process reading, and none outlives its run."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from ingest_fixtures import settings_for, warehouse_files, write_raw
from pipelines.ingest import RawFile, ingest_raw, read_ledger
from pipelines.ingest.workers import IngestWorkers, worker_pool
from run_fixtures import log_lines, write_directory

DAYS = (dt.date(2020, 3, 23), dt.date(2020, 3, 24), dt.date(2020, 3, 25))


def write_files(tmp_path: Path, name: str) -> object:
    settings = settings_for(tmp_path / name)
    for day in DAYS:
        lines = log_lines(day, page_views=40, rejects=2, undated_rejects=1)
        write_raw(settings, f"logs/access.log-{day:%Y%m%d}.gz", lines, compress=True)
    write_directory(settings.raw_dir)
    return settings


def test_files_read_by_worker_processes_give_the_same_parts_and_ledger(tmp_path: Path) -> None:
    here, workers = write_files(tmp_path, "here"), write_files(tmp_path, "workers")

    in_process = ingest_raw(here)
    by_workers = ingest_raw(workers, processes=2)

    assert in_process.problems == by_workers.problems == []
    parts = {path: content for path, content in warehouse_files(here).items() if path.endswith(".parquet")}
    assert len(parts) == 3 + 3 + 1 + 1  # a day of lines per log, rejects per log, the directory, the ledger
    assert {path: content for path, content in warehouse_files(workers).items() if path.endswith(".parquet")}.keys() \
        == parts.keys()
    columns = ["path", "file_id", "status", "lines_read", "lines_accepted", "lines_rejected"]
    assert read_ledger(workers).select(columns).sort("path").rows() == read_ledger(here).select(columns).sort(
        "path"
    ).rows()
    assert read_ledger(workers)["lines_read"].sum() == 3 * (40 + 3) + 3


WORKER_OF_A_KILLED_RUN = """
import sys
from pathlib import Path

from pipelines.ingest import RawFile
from pipelines.ingest.workers import IngestWorkers
from pipelines.settings import Settings

workers = IngestWorkers(1)
workers.submit(Settings(data_dir=Path(sys.argv[1]), pseudonym_key="test"), b"test", RawFile("logs/slow.log", "logs", 0, 0))
print("submitted", flush=True)
workers.close()
"""


def test_a_worker_stops_when_the_run_that_started_it_is_killed(tmp_path: Path) -> None:
    slow = tmp_path / "data" / "raw" / "logs" / "slow.log"
    slow.parent.mkdir(parents=True)
    os.mkfifo(slow)  # a raw file whose content never comes: its worker waits, reading it
    run = subprocess.Popen(
        [sys.executable, "-c", WORKER_OF_A_KILLED_RUN, str(tmp_path / "data")], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None and run.stdout.readline().strip() == "submitted"
    worker = _worker_of(run.pid)
    try:
        time.sleep(1)  # the worker is now blocked opening the file
        assert worker.is_running()
        run.kill()
        run.wait()
        worker.wait(timeout=5)  # raises psutil.TimeoutExpired if it outlived the run
    finally:
        run.kill()
        if worker.is_running():
            worker.kill()


def _worker_of(pid: int) -> psutil.Process:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = [child for child in psutil.Process(pid).children() if "spawn_main" in " ".join(child.cmdline())]
        if workers:
            return workers[0]
        time.sleep(0.05)
    raise AssertionError("no worker process started")


def test_workers_closed_by_several_threads_at_once_close_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for _ in range(3):
        workers = IngestWorkers(2)
        results = [workers.submit(settings, b"test", RawFile(f"logs/missing-{n}.log", "logs", 0, 0)) for n in range(4)]
        assert all(result.result().problem for result in results)  # missing files: one problem each
        start, failures = threading.Barrier(8), []

        def close() -> None:
            start.wait()
            try:
                workers.close()
            except Exception as error:  # noqa: BLE001 - any failure of a concurrent close is the finding
                failures.append(error)

        threads = [threading.Thread(target=close) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []


def test_a_file_whose_worker_was_killed_is_left_to_its_task(tmp_path: Path) -> None:
    from pipelines.pipeline import HeadStart

    settings = settings_for(tmp_path)
    slow = settings.raw_dir / "logs" / "slow.log"
    slow.parent.mkdir(parents=True)
    os.mkfifo(slow)  # its worker waits reading it, until killed (by the out-of-memory killer, say)
    raw_file = RawFile("logs/slow.log", "logs", 0, 0)
    head_start = HeadStart(settings, [raw_file])
    try:
        _worker_of(os.getpid()).kill()
        assert head_start.take(raw_file) is None  # the file's task reads it itself
    finally:
        head_start.close()


class _MarksItsEnd:
    """An object that writes a file when Python frees it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __del__(self) -> None:
        Path(self.path).write_text("freed")


_KEPT: list[_MarksItsEnd] = []


def _keep_an_object_marking_its_end(path: str) -> None:
    _KEPT.append(_MarksItsEnd(path))


def test_a_worker_ends_without_freeing_its_objects_one_by_one(tmp_path: Path) -> None:
    marker = tmp_path / "freed"
    with worker_pool(1) as pool:  # as IngestWorkers and the demo's generation start theirs
        pool.submit(_keep_an_object_marking_its_end, str(marker)).result()
    # leaving the block waited for the process to end

    assert not marker.exists()  # it ended at once: a run waited about 0.5 s for a worker freeing what it knew
