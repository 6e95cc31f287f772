"""Refuse any connection that would leave this machine, before a single packet is sent.

Installed in the test process by tests/conftest.py and in every child Python process
(CLI runs, Dask workers, Prefect servers) by the sitecustomize.py beside this file,
which the tests put on PYTHONPATH. Loopback (127.0.0.0/8, ::1, `localhost`) and Unix
sockets are allowed; anything else raises OutboundConnectionBlocked and is recorded,
so that a test fails even when the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading

# Where child processes append the addresses they were refused (one per line).
LOG_VARIABLE = "ENT_ANALYTICS_SOCKET_GUARD_LOG"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

refused: list[str] = []
# Child processes also append their refusals to the file named by LOG_VARIABLE, for the test to read.
_log_to_file = False
_lock = threading.Lock()
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_create_connection = socket.create_connection


class OutboundConnectionBlocked(ConnectionRefusedError):
    """A connection to an address outside this machine was attempted (and not made)."""


def is_local_host(host: object) -> bool:
    """True for a loopback address or a name of this machine's loopback interface."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%")[0].lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # any other name would need a DNS query first: refused unresolved
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def is_local_address(family: int, address: object) -> bool:
    """True when a connect() to this address stays on this machine."""
    if family == getattr(socket, "AF_UNIX", None):
        return True
    return isinstance(address, tuple) and bool(address) and is_local_host(address[0])


def _refuse(address: object) -> None:
    text = repr(address)
    with _lock:
        refused.append(text)
    log = os.environ.get(LOG_VARIABLE)
    if log and _log_to_file:
        with open(log, "a", encoding="utf-8") as sink:
            sink.write(f"{os.getpid()} {' '.join(sys.argv[:2])}: {text}\n")
    raise OutboundConnectionBlocked(f"outbound connection to {text} refused by the test socket guard")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not is_local_address(self.family, address):
        _refuse(address)
    return _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not is_local_address(self.family, address):
        _refuse(address)
    return _original_connect_ex(self, address)


def _guarded_create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
    if not is_local_host(address[0]):
        _refuse(address)
    return _original_create_connection(address, *args, **kwargs)


def install(log_to_file: bool = False) -> None:
    """Patch the socket module of this process (idempotent)."""
    global _log_to_file
    _log_to_file = log_to_file
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.create_connection = _guarded_create_connection


def uninstall() -> None:
    """Restore the socket module as it was."""
    socket.socket.connect = _original_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]
    socket.create_connection = _original_create_connection
