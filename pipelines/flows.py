"""Prefect orchestration: the pipeline as a flow of small tasks, its deployments, and a local API.

This is the only module that uses Prefect's flows and tasks (`pipelines.prefect_api` serves
its API, and imports its server). The flow body reads like the job: find new raw
files, ingest them (one task per file, on a Dask cluster when one is given), record them,
build and check the models, publish the dashboards and headline files, apply retention.
The working functions it calls are plain and know nothing of Prefect.

Without PREFECT_API_URL, a run has Prefect's API served by a thread of its own process on a
free loopback port for its duration (`pipelines.prefect_api`): Prefect is imported once, and
the API ends with the run, even killed.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from pipelines.prefect_env import configure_prefect

configure_prefect()  # Prefect reads its settings once, when imported: they must be in place first.

import yaml  # noqa: E402
from prefect import flow, get_run_logger, serve as prefect_serve, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.deployments.runner import EntrypointType  # noqa: E402
from prefect.futures import as_completed  # noqa: E402
from prefect.runtime import flow_run, task_run  # noqa: E402
from prefect.schedules import Cron  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

# Imported here, not in the task: Prefect may put the working directory on sys.path, and a
# data folder's own `dashboards/` output would then shadow the package.
from dashboards import publish  # noqa: E402
from pipelines import ingest, retention, transform  # noqa: E402
from pipelines.errors import UserError  # noqa: E402
from pipelines.ingest import FileResult, RawFile  # noqa: E402
from pipelines.ingest.ledger import raw_files_on_disk  # noqa: E402
from pipelines.pipeline import INGEST_WORKERS, HeadStart, run_settings, warehouse_lock  # noqa: E402
from pipelines.prefect_api import LocalPrefectAPI, start_local_api  # noqa: E402
from pipelines.progress import Progress, RunSummary, render_summary  # noqa: E402
from pipelines.settings import Settings  # noqa: E402

PREFECT_YAML = "prefect.yaml"
# Problems of a file that can pass: read while being rotated or rewritten.
PASSING_PROBLEMS = ("cannot be read", "changed while being read")
# A run's own API ends with the run: nothing is left to notice that its heartbeats stop. They
# would only cost time: Prefect's heartbeat thread sleeps in 1 s steps, and the flow waits for it
# to wake before it ends (half a second per run on average).
OWN_API_SETTINGS = {"flows.heartbeat_frequency": None}
INGEST_RETRIES = 2
INGEST_RETRY_DELAY_SECONDS = 10


class RawFileBusy(OSError):
    """A raw file that could not be read right now (rotated or rewritten while read); worth another try."""

    def __init__(self, result: FileResult) -> None:
        super().__init__(result.problem)
        self.result = result


def step(name: str) -> Any:
    """A task whose runs are named after what they do; nothing cached (each run rereads the warehouse)."""
    return task(name=name, task_run_name=name, cache_policy=NO_CACHE)


def _read_may_pass(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only a file that was busy; anything else (a failing check, a bug) is never retried."""
    return isinstance(state.result(raise_on_failure=False), RawFileBusy)


def _ingest_run_name() -> str:
    return f"ingest {PurePosixPath(task_run.parameters['raw_file'].path).name}"


@step("find raw files")
def find_raw_files(settings: Settings, every_file: bool) -> list[RawFile]:
    """The raw files to ingest: new or changed ones, or every one to verify them all by content."""
    return raw_files_on_disk(settings) if every_file else ingest.discover(settings)


@task(
    name="ingest raw file",
    task_run_name=_ingest_run_name,
    cache_policy=NO_CACHE,
    retries=INGEST_RETRIES,
    retry_delay_seconds=INGEST_RETRY_DELAY_SECONDS,
    retry_condition_fn=_read_may_pass,
)
def ingest_raw_file(settings: Settings, key: bytes, raw_file: RawFile) -> FileResult:
    """Ingest one raw file into staged parts; a file busy being rotated raises RawFileBusy, to be tried again."""
    result = _begun_result(settings, raw_file) or ingest.ingest_file(settings, key, raw_file)
    if result.problem and any(text in result.problem for text in PASSING_PROBLEMS):
        raise RawFileBusy(result)
    return result


# Runs that hold their warehouse and may have begun its ingestion before the flow (pipelines.pipeline),
# by data folder: the first try of a file's task takes its result from there.
_HEAD_STARTS: dict[Path, HeadStart] = {}


def _begun_result(settings: Settings, raw_file: RawFile) -> FileResult | None:
    head_start = _HEAD_STARTS.get(settings.data_dir)
    return None if head_start is None or head_start.settings != settings else head_start.take(raw_file)


@step("record ingested files in the ledger")
def record_files(settings: Settings, results: list[FileResult]) -> list[FileResult]:
    return ingest.record(settings, results)


@step("build the models and run the checks")
def build_models(settings: Settings, full_rebuild: bool) -> transform.BuildReport:
    return transform.build(settings, full=full_rebuild)


@step("publish the dashboards and headline files")
def publish_dashboards(settings: Settings) -> list[Path]:
    return publish(settings)


@step("apply retention")
def apply_retention(settings: Settings) -> retention.RetentionReport:
    report = retention.apply_retention(settings)
    get_run_logger().info("retention: %s", _retention_text(report, settings))
    return report


def _retention_text(report: retention.RetentionReport, settings: Settings) -> str:
    from pipelines.progress import retention_line

    return retention_line(report, settings.retention_months)


def ingest_files(settings: Settings, raw_files: list[RawFile], progress: Progress) -> list[FileResult]:
    """One task per raw file, on the Dask cluster when one is set, counted on the terminal as they finish."""
    from pipelines.pseudonym import load_key

    if not raw_files:
        progress.show("ingest   no new raw file", final=True)
        return []
    key = load_key(settings)
    results: list[FileResult] = []
    with _begun_here(settings, raw_files), _ingestion_runner(settings) as runner:
        futures = [runner.submit(ingest_raw_file, {"settings": settings, "key": key, "raw_file": raw_file})
                   for raw_file in ingest.reading_order(settings.raw_dir, raw_files)]
        for future in as_completed(futures):
            results.append(_file_result(future))
            progress.files(len(results), len(raw_files), *_line_counts(results))
    return results


@contextmanager
def _begun_here(settings: Settings, raw_files: list[RawFile]) -> Iterator[None]:
    """Files begun in worker processes for the tasks to take, unless the run began them or a Dask cluster reads them."""
    if settings.dask_address or settings.data_dir in _HEAD_STARTS:
        yield
        return
    with closing(HeadStart(settings, raw_files)) as begun:
        _HEAD_STARTS[settings.data_dir] = begun
        try:
            yield
        finally:
            _HEAD_STARTS.pop(settings.data_dir, None)


def _file_result(future: Any) -> FileResult:
    """A finished ingestion task's result; a file still busy after its retries is reported as a problem."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, RawFileBusy):
        return outcome.result
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _line_counts(results: list[FileResult]) -> tuple[int, int]:
    logs = [result for result in results if result.kind == "logs" and result.status == "ingested"]
    return sum(result.lines_read for result in logs), sum(result.lines_rejected for result in logs)


def _ingestion_runner(settings: Settings) -> Any:
    """A Dask task runner on the cluster at settings.dask_address, or threads of this process."""
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    return ThreadPoolTaskRunner(max_workers=INGEST_WORKERS)


def _run_name() -> str:
    kind = "full rebuild" if flow_run.parameters.get("full_rebuild") else "nightly run"
    return f"{kind} of {flow_run.parameters.get('data_dir') or 'the default data folder'}"


@flow(name="ent-analytics", flow_run_name=_run_name, log_prints=False)
def ent_analytics(
    data_dir: str | None = None, dask_address: str | None = None, full_rebuild: bool = False
) -> RunSummary:
    """Ingest what is new, build and check the models, publish the dashboards, apply retention.

    With full_rebuild, every raw file is read again and checked against the ledger by content,
    not only the new ones; everything downstream is rebuilt either way.
    """
    started, settings, progress = time.monotonic(), run_settings(data_dir, dask_address), Progress()
    with _warehouse(settings):
        raw_files = find_raw_files(settings, every_file=full_rebuild)
        ingested = record_files(settings, ingest_files(settings, raw_files, progress))
        progress.show(f"build    {_models_and_checks()}", final=True)
        built = build_models(settings, full_rebuild)
        progress.show("publish  dashboards and headline files", final=True)
        published = publish_dashboards(settings)
        retained = apply_retention(settings)
    progress.close()
    return summarise(settings, started, ingested, built, published, retained)


def _warehouse(settings: Settings) -> Any:
    """The warehouse lock, unless the run that began this flow's ingestion already holds it."""
    return nullcontext() if settings.data_dir in _HEAD_STARTS else warehouse_lock(settings)


def _models_and_checks() -> str:
    return f"{len(transform.discover_models())} models, {len(transform.discover_checks())} checks"


def summarise(settings: Settings, started: float, files: list[FileResult], built: transform.BuildReport,
              published: list[Path], retained: retention.RetentionReport) -> RunSummary:
    """The run's summary, also logged to the Prefect API for the UI."""
    from pipelines.quality import quality_report

    headline = next((path for path in published if path.name == "headline.json"), None)
    summary = RunSummary(
        settings.data_dir, round(time.monotonic() - started, 1), tuple(files), quality_report(settings),
        len(built.models), len(built.checks), built.seconds, retained, settings.dashboards_dir, headline,
        tuple(result.problem for result in files if result.problem),
        None if built.rebuilt_days is None else len(built.rebuilt_days), built.why_full,
    )
    get_run_logger().info("%s", render_summary(summary, settings.retention_months))
    return summary


# --- Running without a Prefect server -------------------------------------------------------


@contextmanager
def prefect_api(local: LocalPrefectAPI | None = None) -> Iterator[LocalPrefectAPI | None]:
    """The Prefect API for runs inside this block: PREFECT_API_URL when set, else a local one.

    The local API is served by a thread (`pipelines.prefect_api`), started here unless the
    caller started it earlier.
    """
    if PREFECT_API_URL.value():
        if local is not None:
            local.stop()
        yield None
        return
    api = local or start_local_api()  # PREFECT_API_URL is unset here, so it starts one
    api.wait_for_imports()  # before this thread imports more of Prefect
    try:
        with temporary_settings(updates={PREFECT_API_URL: api.url, **OWN_API_SETTINGS}):
            try:
                yield api
            finally:
                if api.ready:  # a failed run's state and logs too
                    _send_what_prefect_holds()
    finally:
        api.stop()


def _send_what_prefect_holds() -> None:
    """Send the log lines and events still queued in this process to the API, before it stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


def run_pipeline(settings: Settings, dask_address: str | None = None, full_rebuild: bool = False,
                 api: LocalPrefectAPI | None = None, head_start: HeadStart | None = None) -> RunSummary:
    """Run the flow for these settings, on the local API when given (waiting for it to answer).

    A head start (ingestion begun by the caller, who holds the warehouse) gives the first try
    of each file's task its result.
    """
    dask_address = dask_address or settings.dask_address
    if api is not None and dask_address and not _on_this_machine(dask_address):
        raise UserError("Dask workers on other machines report to a Prefect server they can reach: "
                        "set PREFECT_API_URL (see docs/national.md)")
    if api is not None:
        api.wait()
    data_dir = settings.data_dir.resolve()
    if head_start is not None:
        _HEAD_STARTS[data_dir] = head_start
    try:
        return ent_analytics(str(settings.data_dir), dask_address, full_rebuild)
    finally:
        _HEAD_STARTS.pop(data_dir, None)


def _on_this_machine(address: str) -> bool:
    """Whether a Dask scheduler address (tcp://host:port) is on the loopback interface."""
    host = urlsplit(address).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# --- Scheduled deployments -------------------------------------------------------------------


def prefect_yaml() -> Path:
    """prefect.yaml of the current folder, else the one beside the package."""
    here = Path(PREFECT_YAML)
    return here if here.is_file() else Path(__file__).resolve().parent.parent / PREFECT_YAML


def deployments(settings: Settings, config: Path | None = None) -> list[Any]:
    """The deployments of prefect.yaml for this data folder, to be served from this machine."""
    path = config or prefect_yaml()
    try:
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        raise UserError(f"cannot read the deployments of {path}: {error}") from None
    return [_deployment(entry, settings) for entry in declared]


def _deployment(entry: dict, settings: Settings) -> Any:
    """One deployment of prefect.yaml: its flow, parameters and cron schedules."""
    function = entry["entrypoint"].rpartition(":")[2]
    if function != ent_analytics.fn.__name__:
        raise UserError(f"deployment {entry['name']}: unknown entrypoint {entry['entrypoint']}")
    parameters = {"data_dir": str(settings.data_dir.resolve()), **(entry.get("parameters") or {})}
    schedules = [
        Cron(item["cron"], timezone=item.get("timezone") or settings.timezone, active=item.get("active", True))
        for item in entry.get("schedules") or []
    ]
    # By module, not file path: the runs load the flow whatever the folder serve was started from.
    return ent_analytics.to_deployment(
        name=entry["name"], schedules=schedules, parameters=parameters,
        description=entry.get("description"), tags=entry.get("tags"), entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve(settings: Settings) -> None:
    """Serve the deployments of prefect.yaml from this machine against the Prefect server of PREFECT_API_URL."""
    if not PREFECT_API_URL.value():
        raise UserError("set PREFECT_API_URL to your Prefect server, "
                        "e.g. http://127.0.0.1:4200/api (see docs/scheduling.md)")
    print(render_deployments(settings))
    # One run at a time: the nightly run and the weekly rebuild never write the warehouse together.
    prefect_serve(*deployments(settings), limit=1, print_starting_message=False)


def render_deployments(settings: Settings) -> str:
    """What serve is about to do, in a few lines."""
    lines = [f"Serving the deployments of {prefect_yaml()} for {settings.data_dir.resolve()}"]
    lines += [f"  ent-analytics/{d.name}: {', '.join(s.schedule.cron for s in d.schedules)} "
              f"({d.schedules[0].schedule.timezone if d.schedules else 'no schedule'})" for d in deployments(settings)]
    lines.append(f"against {PREFECT_API_URL.value()}; stop with Ctrl-C.")
    return "\n".join(lines)
