"""The Prefect flow: named tasks, retries only where failure can pass, a served nightly deployment, kill -9."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from pipelines import flows, ingest, pipeline, transform
from pipelines.errors import UserError
from pipelines.ingest import workers
from pipelines.settings import Settings
from run_fixtures import warehouse_figures, write_department, write_log

DAYS = (dt.date(2020, 3, 23), dt.date(2020, 3, 24), dt.date(2020, 3, 25))
KEY = "flow-test"
PARIS = "Europe/Paris"
BIN = Path(sys.executable).parent


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ENT_ANALYTICS_PSEUDONYM_KEY", KEY)
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=KEY)
    write_department(settings.raw_dir, DAYS)
    return settings


def task_run_names(flow_run_id: object) -> list[str]:
    """The names of a flow run's task runs, read from the API as the Prefect UI shows them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sorted(run.name for run in runs)


def test_a_full_rebuild_reads_every_file_again_and_changes_no_figure(settings: Settings) -> None:
    pipeline.run(settings)
    before = warehouse_figures(settings.data_dir)

    with flows.prefect_api() as api:
        summary = flows.run_pipeline(settings, full_rebuild=True, api=api)
        again = flows.run_pipeline(settings, api=api)

    assert (summary.rebuilt_days, summary.why_full) == (None, "a full build was asked for")
    assert (again.rebuilt_days, again.files) == (0, ())
    assert sorted(result.path for result in summary.files) == [
        "directory/annuaire.csv",
        *(f"logs/access.log-{day:%Y%m%d}.gz" for day in DAYS),
    ]
    assert warehouse_figures(settings.data_dir) == before


def test_a_run_maps_one_named_task_per_new_file_and_publishes(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import FlowRunEngine

    heartbeats = []  # its own API ends with the run: no heartbeat, nobody would be there to miss it
    monkeypatch.setattr(FlowRunEngine, "_emit_flow_run_heartbeat", lambda *args: heartbeats.append(args))
    with flows.prefect_api() as api:
        api.wait()
        state = flows.ent_analytics(str(settings.data_dir), return_state=True)
        summary = state.result()
        deadline = time.monotonic() + 30  # task runs are recorded from events, a moment after they end
        flow_run_id = state.state_details.flow_run_id
        while len(names := task_run_names(flow_run_id)) < 9 and time.monotonic() < deadline:
            time.sleep(0.5)
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(flow_run_id)

    assert flow_run.name == f"nightly run of {settings.data_dir}"
    assert heartbeats == []
    assert names == sorted([
        "find raw files", "ingest annuaire.csv", "ingest access.log-20200323.gz", "ingest access.log-20200324.gz",
        "ingest access.log-20200325.gz", "record ingested files in the ledger", "build the models and run the checks",
        "publish the dashboards and headline files", "apply retention",
    ])
    assert summary.quality["log_lines_read"] == 3 * 15 and summary.quality["log_lines_rejected"] == 3 * 3
    assert summary.models == len(transform.discover_models()) and summary.checks == len(transform.discover_checks())
    assert (settings.dashboards_dir / "index.html").is_file()
    headline = json.loads((settings.dashboards_dir / "headline.json").read_text())
    assert headline["page_views"] == 3 * 12
    assert "ingest   4/4 files, 45 log lines parsed, 9 rejected" in capsys.readouterr().err


def test_a_run_reporting_to_a_prefect_server_keeps_its_heartbeats() -> None:
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}), flows.prefect_api() as api:
        assert api is None
        assert get_current_settings().flows.heartbeat_frequency is not None  # the server may watch for them


def test_run_prints_a_one_screen_summary_and_a_second_run_changes_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.run(settings)
    first = warehouse_figures(settings.data_dir)
    summary = capsys.readouterr().out
    assert len(summary.splitlines()) <= 12
    assert "4 raw file(s) looked at: 4 ingested, 0 duplicate(s) skipped, 0 unreadable" in summary
    assert "45 log lines read, 9 rejected (20.00 %)" in summary
    assert f"dashboards    {settings.data_dir.resolve() / 'dashboards' / 'index.html'}" in summary

    pipeline.run(settings)

    assert "0 raw file(s) looked at" in capsys.readouterr().out
    assert warehouse_figures(settings.data_dir) == first


def problem_result(raw_file: ingest.RawFile, problem: str) -> ingest.FileResult:
    """What ingest_file returns for a file it could not read."""
    return ingest.FileResult(raw_file.path, raw_file.kind, raw_file.size, raw_file.mtime_ns,
                             status="problem", problem=problem)


class InProcessWorkers:
    """IngestWorkers as threads of the test's process, so that the patched ingest_file is the one called."""

    def __init__(self, processes: int) -> None:
        self._pool = ThreadPoolExecutor(processes)

    def submit(self, settings: Settings, key: bytes, raw_file: ingest.RawFile) -> Future:
        return self._pool.submit(lambda: ingest.ingest_file(settings, key, raw_file))

    result = staticmethod(workers.IngestWorkers.result)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def test_a_busy_file_is_tried_again_then_ingested(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    real_ingest_file, attempts = ingest.ingest_file, []

    def rotated_on_first_read(settings: Settings, key: bytes, raw_file: ingest.RawFile) -> ingest.FileResult:
        attempts.append(raw_file.path)
        if raw_file.path.endswith("20200324.gz") and attempts.count(raw_file.path) == 1:
            problem = f"{raw_file.path}: cannot be read (No such file or directory)"
            return problem_result(raw_file, problem)
        return real_ingest_file(settings, key, raw_file)

    monkeypatch.setattr(ingest, "ingest_file", rotated_on_first_read)
    monkeypatch.setattr(workers, "IngestWorkers", InProcessWorkers)
    monkeypatch.setattr(flows, "ingest_raw_file", flows.ingest_raw_file.with_options(retry_delay_seconds=0))
    pipeline.run(settings)

    assert attempts.count("logs/access.log-20200324.gz") == 2
    assert attempts.count("logs/access.log-20200323.gz") == 1
    assert sum(row[3] for row in warehouse_figures(settings.data_dir)["ledger"]) == 3 * 15 + 3


def test_a_file_still_busy_after_its_retries_is_reported_and_the_rest_published(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest_file, attempts = ingest.ingest_file, []

    def never_readable(settings: Settings, key: bytes, raw_file: ingest.RawFile) -> ingest.FileResult:
        if raw_file.path.endswith("20200325.gz"):
            attempts.append(raw_file.path)
            problem = f"{raw_file.path}: changed while being read (it will be read again next run)"
            return problem_result(raw_file, problem)
        return real_ingest_file(settings, key, raw_file)

    monkeypatch.setattr(ingest, "ingest_file", never_readable)
    monkeypatch.setattr(workers, "IngestWorkers", InProcessWorkers)
    monkeypatch.setattr(flows, "ingest_raw_file", flows.ingest_raw_file.with_options(retry_delay_seconds=0))
    with pytest.raises(UserError, match="1 raw file"):
        pipeline.run(settings)

    assert len(attempts) == 1 + flows.INGEST_RETRIES
    assert len(warehouse_figures(settings.data_dir)["ledger"]) == 3  # recorded next run, not now
    assert (settings.dashboards_dir / "index.html").is_file()


def test_a_failing_check_is_never_retried(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []

    def failing_build(settings: Settings, full: bool = False) -> transform.BuildReport:
        builds.append(settings.data_dir)
        raise transform.CheckFailed("check fct_visits__visit_id_unique_not_null failed: (visit_id=1)")

    monkeypatch.setattr(transform, "build", failing_build)
    with pytest.raises(transform.CheckFailed, match="visit_id_unique"):
        pipeline.run(settings)
    assert len(builds) == 1
    assert not (settings.dashboards_dir / "index.html").exists()


def test_a_second_run_on_the_same_warehouse_waits_its_turn(settings: Settings) -> None:
    with pipeline.warehouse_lock(settings):
        with pytest.raises(UserError, match="another run is using"):
            pipeline.run(settings)


# --- As a user runs it: the command, killed; the schedule, served ------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_env(data_dir: Path, prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    return dict(env, ENT_ANALYTICS_PSEUDONYM_KEY=KEY, PREFECT_HOME=str(prefect_home), **extra)


@pytest.mark.slow
def test_a_run_killed_during_ingestion_then_started_again_gives_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for day in range(6):
        write_log(killed / "raw" / "logs", dt.date(2020, 3, 16) + dt.timedelta(days=day), page_views=10_000, rejects=5)
    shutil.copytree(killed / "raw", whole / "raw")
    env = command_env(killed, tmp_path / "prefect")
    command = [str(BIN / "ent-analytics"), "run", "--data-dir"]

    run = subprocess.Popen([*command, str(killed)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    api_port = listening_port_of(run)
    staging = killed / "warehouse" / ".staging"
    while run.poll() is None and not (staging.is_dir() and any(staging.iterdir())):
        time.sleep(0.01)
    children = psutil.Process(run.pid).children(recursive=True)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed during ingestion"
    assert not (killed / "warehouse" / "ent.duckdb").exists()
    assert children and all(gone_within(child, seconds=15) for child in children), "a worker outlived the run"
    assert not answers(api_port), "the run's Prefect API outlived it"

    again = subprocess.run([*command, str(killed)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "ingest   6/6 files" in again.stderr
    monkeypatch.setenv("ENT_ANALYTICS_PSEUDONYM_KEY", KEY)
    pipeline.run(Settings(data_dir=whole))
    assert warehouse_figures(killed) == warehouse_figures(whole)
    assert not staging.exists() or not any(staging.iterdir())


def listening_port_of(run: subprocess.Popen) -> int:
    """The loopback port of a run's local Prefect API, opened first thing by the run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listening = [c for c in psutil.Process(run.pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        if listening:
            return listening[0].laddr.port
        time.sleep(0.01)
    raise AssertionError("the run opened no port for its Prefect API")


def answers(port: int) -> bool:
    """Whether anything accepts connections on this loopback port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gone_within(process: psutil.Process, seconds: float) -> bool:
    """Whether a process ended (a zombie waiting for its new parent to reap it counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_a_run_killed_while_its_api_starts_leaves_nothing_behind(settings: Settings, tmp_path: Path) -> None:
    env = command_env(settings.data_dir, tmp_path / "prefect")
    run = subprocess.Popen([str(BIN / "ent-analytics"), "run", "--data-dir", str(settings.data_dir)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api_port = listening_port_of(run)
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # still importing Prefect's server
    children = psutil.Process(run.pid).children(recursive=True)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert all(gone_within(child, seconds=15) for child in children), "a worker outlived the run"
    assert not answers(api_port), "the run's Prefect API outlived it"


def test_a_demo_killed_while_it_generates_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    env = command_env(data_dir, tmp_path / "prefect")
    demo = subprocess.Popen([str(BIN / "ent-analytics"), "demo", "--scale", "seed", "--data-dir", str(data_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # the generating process and the two ingestion workers (besides multiprocessing's resource tracker)
    while len(children := spawned_children(demo)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # into the generation, which takes minutes at this scale
    demo.send_signal(signal.SIGKILL)
    demo.wait(timeout=30)
    assert demo.returncode == -signal.SIGKILL, "the demo ended before it could be killed"
    assert len(children) == 3 and all(gone_within(child, seconds=15) for child in children)
    written = file_sizes(data_dir / "raw")
    time.sleep(1)
    assert file_sizes(data_dir / "raw") == written


def file_sizes(folder: Path) -> list[tuple[Path, int]]:
    return sorted((path, path.stat().st_size) for path in folder.rglob("*") if path.is_file())


def spawned_children(run: subprocess.Popen) -> list[psutil.Process]:
    """The processes a run started with multiprocessing's `spawn`, its resource tracker left out."""
    return [child for child in psutil.Process(run.pid).children()
            if "spawn_main" in " ".join(child.cmdline())]


def test_a_local_api_that_cannot_start_ends_the_run_with_one_line(settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "prefect"
    home.mkdir()
    (home / "prefect.db").write_text("not a database\n")
    env = command_env(settings.data_dir, home)

    run = subprocess.run([str(BIN / "ent-analytics"), "run", "--data-dir", str(settings.data_dir)],
                         env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "ent-analytics: error: the local Prefect API could not start: "
        "sqlalchemy.exc.DatabaseError: (sqlite3.DatabaseError) file is not a database"
    ]
    assert not (settings.dashboards_dir / "index.html").exists()


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 and a free port, with its own home and SQLite database."""
    from pipelines.prefect_env import PRIVATE

    port, home = free_port(), tmp_path / "server-home"
    env = dict(command_env(tmp_path, home), **PRIVATE, PREFECT_SERVER_UI_ENABLED="false")
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the Prefect server did not answer in time"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.slow
def test_the_nightly_deployment_served_from_this_machine_runs_when_triggered(
    prefect_server: str, settings: Settings, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = command_env(settings.data_dir, tmp_path / "serve-home",
                      PREFECT_API_URL=prefect_server, PREFECT_RUNNER_POLL_FREQUENCY="1")
    serve_log = open(tmp_path / "serve.log", "w")
    serving = subprocess.Popen([str(BIN / "ent-analytics"), "serve", "--data-dir", str(settings.data_dir)],
                               env=env, stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_server}), get_client(sync_client=True) as client:
            deadline = time.monotonic() + 60
            names = ("ent-analytics/nightly", "ent-analytics/weekly-full-rebuild")
            while None in (deployed := [_deployment_or_none(client, name) for name in names]):
                assert serving.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
            nightly, weekly = deployed
            assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [("0 2 * * *", PARIS)]
            assert [(s.schedule.cron, s.schedule.timezone) for s in weekly.schedules] == [("0 3 * * 0", PARIS)]
            assert nightly.parameters == {"data_dir": str(settings.data_dir.resolve()), "full_rebuild": False}
            assert weekly.parameters["full_rebuild"] is True

            flow_run = run_deployment("ent-analytics/nightly", timeout=90, poll_interval=1)

        assert flow_run.state.is_completed(), (tmp_path / "serve.log").read_text()
        assert flow_run.name == f"nightly run of {settings.data_dir.resolve()}"
        assert json.loads((settings.dashboards_dir / "headline.json").read_text())["page_views"] == 3 * 12
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            serving.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serving.kill()
        serve_log.close()


def _deployment_or_none(client: object, name: str) -> object | None:
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        return None
