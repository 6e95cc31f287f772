"""Shared test set-up: no connection leaves the machine, and Prefect keeps its state in a temporary home."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SOCKET_GUARD_DIR = Path(__file__).resolve().parent / "socket_guard"
sys.path.insert(0, str(SOCKET_GUARD_DIR))

import ent_analytics_socket_guard as socket_guard  # noqa: E402  (needs the path above)

# Before any test imports Prefect: never the developer's Prefect home, profile or server.
_PREFECT_HOME = tempfile.mkdtemp(prefix="ent-analytics-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
for _variable in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_variable, None)


@pytest.fixture(autouse=True)
def no_outbound_connections(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fail the test if it, or any Python process it starts, tries to connect outside this machine."""
    log = tmp_path_factory.mktemp("socket-guard") / "refused.txt"
    monkeypatch.setenv(socket_guard.LOG_VARIABLE, str(log))
    python_path = [str(SOCKET_GUARD_DIR), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, python_path)))
    socket_guard.refused.clear()
    socket_guard.install()
    try:
        yield
    finally:
        socket_guard.uninstall()
    attempts = list(socket_guard.refused) + (log.read_text().splitlines() if log.exists() else [])
    socket_guard.refused.clear()
    if attempts:
        pytest.fail("outbound connection attempted: " + "; ".join(attempts), pytrace=False)
