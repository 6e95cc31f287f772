"""Nothing leaves the machine: the tests' socket guard works, and Prefect is set up to send nothing out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import ent_analytics_socket_guard as guard

TEST_NET = "192.0.2.1"  # TEST-NET-1 (RFC 5737): documentation only, never contacted
TEST_NET_V6 = "2001:db8::1"  # the IPv6 documentation prefix (RFC 3849)


@pytest.fixture
def spied_connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record any call that would reach the real connect functions behind the guard."""
    reached: list[object] = []
    monkeypatch.setattr(guard, "_original_connect", lambda sock, address: reached.append(address))
    monkeypatch.setattr(guard, "_original_connect_ex", lambda sock, address: reached.append(address) or 0)
    monkeypatch.setattr(guard, "_original_create_connection", lambda address, *a, **k: reached.append(address))
    return reached


def forget_refusals() -> list[str]:
    """The refusals recorded so far, cleared so that the autouse guard does not fail this test."""
    refused = list(guard.refused)
    guard.refused.clear()
    return refused


def test_a_connection_to_a_remote_address_is_refused_before_connect(spied_connects: list[object]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(guard.OutboundConnectionBlocked):
            sock.connect((TEST_NET, 80))
        with pytest.raises(guard.OutboundConnectionBlocked):
            sock.connect_ex((TEST_NET, 443))
        with pytest.raises(OSError):
            sock.getpeername()  # never connected
    with pytest.raises(guard.OutboundConnectionBlocked):
        socket.create_connection((TEST_NET, 80), timeout=1)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock, pytest.raises(guard.OutboundConnectionBlocked):
        sock.connect((TEST_NET_V6, 80, 0, 0))
    assert spied_connects == []
    expected = [(TEST_NET, 80), (TEST_NET, 443), (TEST_NET, 80), (TEST_NET_V6, 80, 0, 0)]
    assert forget_refusals() == [repr(address) for address in expected]


def test_a_host_name_is_refused_without_being_resolved(
    spied_connects: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[object] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: lookups.append(args) or [])
    with pytest.raises(guard.OutboundConnectionBlocked):
        socket.create_connection(("example.org", 443))
    assert lookups == [] and spied_connects == []
    assert forget_refusals() == [repr(("example.org", 443))]


def test_loopback_and_unix_sockets_are_allowed(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            assert client.getpeername() == server.getsockname()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "s"))
        listener.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(tmp_path / "s"))
    local = ("127.0.0.1", "127.8.9.10", "::1", "localhost", "::ffff:127.0.0.1")
    assert all(guard.is_local_host(host) for host in local)
    remote = ("10.0.0.1", "192.168.1.1", "0.0.0.0", "example.org", TEST_NET)
    assert not any(guard.is_local_host(host) for host in remote)


def test_child_python_processes_are_guarded_too(tmp_path: Path) -> None:
    log = tmp_path / "child-refusals.txt"
    env = dict(os.environ, **{guard.LOG_VARIABLE: str(log)})
    code = f"import socket; socket.create_connection(({TEST_NET!r}, 80), timeout=1)"
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode != 0
    assert "OutboundConnectionBlocked" in child.stderr
    assert TEST_NET in log.read_text()


def test_prefect_is_set_up_to_send_nothing_out() -> None:
    from pipelines import flows  # noqa: F401  (sets the environment, then imports Prefect)
    from prefect.settings import get_current_settings

    current = get_current_settings()
    assert current.server.analytics_enabled is False
    assert current.telemetry.enable_resource_metrics is False
    assert current.cloud.enable_orchestration_telemetry is False
    assert current.api.enable_http2 is False
    assert current.server.ui.show_promotional_content is False
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert current.api.url is None  # no server of anyone's unless the user sets one


def test_the_prefect_environment_never_overrides_the_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipelines.prefect_env import configure_prefect, prefect_environment

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    in_force = configure_prefect(tmp_path / "data")
    assert in_force["PREFECT_HOME"] == str(tmp_path / "mine")
    assert in_force["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert prefect_environment(tmp_path / "data")["PREFECT_HOME"] == str((tmp_path / "data" / "prefect").resolve())
