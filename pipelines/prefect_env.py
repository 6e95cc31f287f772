"""Prefect's settings for this product, put in the environment before Prefect is imported.

Prefect reads its settings once, at import; pipelines/flows.py calls
`configure_prefect` first thing, and `pipelines.pipeline` calls it earlier with the
data folder of the run. A variable the user already set is never overridden.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.settings import PREFIX, Settings

# Nothing leaves this machine: every setting that would send data out is off.
PRIVATE = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the server's heartbeat and the UI's usage analytics
    "DO_NOT_TRACK": "1",  # the client library's usage events
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",  # OpenTelemetry metrics export
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",  # the UI's banners linking to Prefect Cloud
    "PREFECT_API_ENABLE_HTTP2": "false",
}
# Runs work without a server, and the terminal shows our progress and one-line errors, not
# Prefect's log lines and tracebacks (the Prefect UI still receives every one of them).
LOCAL = {
    "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    # The run's own API registers no block types (a server later started on the same home does),
    # nor imports every installed Prefect collection to see whether they changed.
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


def prefect_home(data_dir: Path) -> Path:
    """Where Prefect keeps its database and files for this data folder: DATA_DIR/prefect."""
    return data_dir.resolve() / "prefect"


def prefect_environment(data_dir: Path) -> dict[str, str]:
    """The Prefect variables this product sets, for runs on this data folder."""
    return {**PRIVATE, **LOCAL, "PREFECT_HOME": str(prefect_home(data_dir))}


def configure_prefect(data_dir: Path | None = None) -> dict[str, str]:
    """Set the Prefect variables the user did not set; returns what is in force."""
    folder = data_dir or Path(os.environ.get(PREFIX + "DATA_DIR") or Settings.data_dir)
    for name, value in prefect_environment(folder).items():
        os.environ.setdefault(name, value)
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    return {name: os.environ[name] for name in prefect_environment(folder)}
