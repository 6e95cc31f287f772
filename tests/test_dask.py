"""Scale-out: ingestion on a real Dask cluster of two worker processes gives the figures of a local run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from pipelines import pipeline
from pipelines.settings import Settings
from run_fixtures import warehouse_figures, write_department

pytestmark = pytest.mark.slow

DAYS = tuple(dt.date(2020, 3, 16) + dt.timedelta(days=offset) for offset in range(6))


def test_ingestion_on_a_dask_cluster_gives_the_figures_of_a_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client, LocalCluster, get_task_stream

    monkeypatch.setenv("ENT_ANALYTICS_PSEUDONYM_KEY", "dask-test")
    local, on_dask = tmp_path / "local", tmp_path / "dask"
    write_department(local / "raw", DAYS, page_views=200)
    shutil.copytree(local / "raw", on_dask / "raw")

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with cluster:
        with Client(cluster) as client, get_task_stream(client) as stream:
            pipeline.run(Settings(data_dir=on_dask), dask_address=cluster.scheduler_address)
            worker_pids = set(client.run(os.getpid).values())
            workers = set(client.scheduler_info()["workers"])
    pipeline.run(Settings(data_dir=local))

    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    ingestion = [task for task in stream.data if "ingest" in str(task["key"])]
    assert len(ingestion) == len(DAYS) + 1, [task["key"] for task in stream.data]  # the logs and the directory
    assert {task["worker"] for task in ingestion} <= workers
    dask_figures, local_figures = warehouse_figures(on_dask), warehouse_figures(local)
    assert dask_figures == local_figures
    assert sum(row[3] for row in dask_figures["ledger"]) == 6 * (200 + 3) + 3
