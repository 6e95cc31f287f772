"""Prefect's API for a run without a server: served by a child process on a free loopback port.

`LocalPrefectAPI(prefect_home).start()` opens the listening socket, then starts
`python -m pipelines.prefect_api FD` with that socket and a pipe on its standard input,
and returns at once: the child imports Prefect's server and opens its database on the
other core while the run imports Prefect and reads its raw files. The child says `ready`,
or `error <one line>`, on its standard output. It stops when its standard input closes,
which happens when the run ends however it ends (kill -9 included): no server is left behind.

Nothing here imports Prefect in the run's process; the child does, and only the child.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path

from pipelines.errors import UserError

START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
READY, ERROR = "ready", "error"
CHILD_ENVIRONMENT = {
    # a server later started on the same home registers Prefect's block types itself; nor does
    # the child import every installed Prefect collection to see whether they changed
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    # the child's log file keeps the server's warnings and errors
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
}
LOG_NAME = "local-api.log"


class LocalPrefectAPI:
    """Prefect's API served by a child process for as long as this run lasts."""

    def __init__(self, prefect_home: Path) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/api"
        self.log_path = prefect_home / LOG_NAME
        self._child: subprocess.Popen[bytes] | None = None
        self._answer = b""
        self._ready = False
        self.pid: int | None = None  # of the child serving the API

    def start(self) -> LocalPrefectAPI:
        """Start the child serving the API; returns at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, **CHILD_ENVIRONMENT}
        environment.pop("PREFECT_API_URL", None)
        with open(self.log_path, "wb") as log:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "pipelines.prefect_api", str(self._socket.fileno())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                pass_fds=(self._socket.fileno(),), env=environment,
            )
        self.pid = self._child.pid
        self._socket.close()  # the child holds it now
        return self

    def wait(self) -> str:
        """Block until the API answers; returns its URL. A child that cannot serve raises UserError."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._ready:
            if time.monotonic() > deadline:
                raise UserError(f"the local Prefect API did not start within {START_TIMEOUT_SECONDS} s")
            self._read_answer(deadline - time.monotonic())
        return self.url

    def _read_answer(self, timeout: float) -> None:
        """Read what the child said so far; its first line is `ready` or `error <why>`."""
        assert self._child is not None and self._child.stdout is not None
        readable, _, _ = select.select([self._child.stdout], [], [], max(timeout, 0))
        if not readable:
            return
        chunk = os.read(self._child.stdout.fileno(), 4096)
        self._answer += chunk
        line = self._answer.decode(errors="replace").partition("\n")[0].strip()
        if line == READY:
            self._ready = True
        elif "\n" in self._answer.decode(errors="replace") or not chunk:
            why = line.removeprefix(ERROR).strip() or f"it stopped without a reason (see {self.log_path})"
            raise UserError(f"the local Prefect API could not start: {why}")

    def stop(self) -> None:
        """Close the child's standard input, which stops it, and wait for it to finish writing."""
        if self._child is None:
            return
        if self._child.stdin is not None:
            self._child.stdin.close()
        try:
            self._child.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()
        self._child = None

    @property
    def ready(self) -> bool:
        """Whether the API answered."""
        return self._ready


def start_local_api() -> LocalPrefectAPI | None:
    """A local API starting for this run, unless PREFECT_API_URL names a server (call configure_prefect first)."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    return LocalPrefectAPI(Path(os.environ["PREFECT_HOME"]).expanduser()).start()


# --- In the child ----------------------------------------------------------------------------

_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")


class _FirstError(logging.Handler):
    """Keeps the first exception logged, as one line, to say why the API did not start."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.error: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        failure = record.exc_info[1] if record.exc_info else None
        text = str(failure) if failure is not None else record.getMessage()
        if self.error is None and (failure is not None or text.startswith("Traceback")):
            # in a traceback, the last line like "sqlite3.OperationalError: ..." names the error
            named = [line for line in text.strip().splitlines() if _ERROR_LINE.match(line)]
            self.error = (named or text.strip().splitlines())[-1]


def _say(line: str) -> None:
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def _stop_when_the_run_ends(server_box: list) -> None:
    """Read standard input to its end (the run closed it, or died); then stop serving, quickly."""
    sys.stdin.buffer.read()
    if server_box:
        server_box[0].should_exit = True
        time.sleep(STOP_TIMEOUT_SECONDS / 2)  # time to write what it holds; then leave regardless
    os._exit(0)


def _say_when_started(server: object, after: Callable[[], None]) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.01)
    _say(READY)
    after()


def _sqlite_database() -> Path | None:
    """The file of Prefect's database, when it is SQLite (the default: PREFECT_HOME/prefect.db)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url
    text = url.get_secret_value() if url is not None else ""
    prefix = "sqlite+aiosqlite:///"
    return Path(text.removeprefix(prefix)) if text.startswith(prefix) and ":memory:" not in text else None


def _template() -> Path:
    """The empty database of this Prefect version, made once per machine by its first migration."""
    import prefect

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ent-analytics" / f"prefect-{prefect.__version__}-empty.db"


def _start_from_template(database: Path | None) -> tuple[bool, Callable[[], None]]:
    """Give a new database the empty, migrated one of this Prefect version; returns whether it did,
    and what to do once serving.

    Migrating a new database takes Prefect seconds, on every new data folder; the copy takes
    milliseconds, and needs no migration. The first migration on this machine keeps its result.
    """
    if database is None or database.exists():
        return False, lambda: None
    template = _template()
    if template.is_file():
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, database)
        return True, lambda: None
    return False, partial(_keep_as_template, database, template)


def _keep_as_template(database: Path, template: Path) -> None:
    """Copy the newly migrated database (empty but for its schema version) to the template's place."""
    import sqlite3

    template.parent.mkdir(parents=True, exist_ok=True)
    partial_copy = template.with_name(f".{template.name}.{os.getpid()}")
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(partial_copy)) as copy:
        source.backup(copy)
    os.replace(partial_copy, template)


def serve(listening: socket.socket) -> str | None:
    """Serve Prefect's API on this socket until told to stop; returns why it could not start, if it could not."""
    server_box: list = []
    threading.Thread(target=_stop_when_the_run_ends, args=(server_box,), daemon=True).start()
    errors = _FirstError()
    try:
        import uvicorn
        from prefect.server.api.server import create_app

        from prefect.settings import PREFECT_API_DATABASE_MIGRATE_ON_START, temporary_settings

        copied, when_serving = _start_from_template(_sqlite_database())
        app = create_app(ephemeral=True, ignore_cache=True)  # sets logging up: the handler comes after
        logging.getLogger("uvicorn.error").addHandler(errors)
        # log_config=None: uvicorn logs through Prefect's logging set-up, to this child's log file.
        server = uvicorn.Server(uvicorn.Config(app, log_level="error", log_config=None, lifespan="on"))
        server_box.append(server)
        threading.Thread(target=_say_when_started, args=(server, when_serving), daemon=True).start()
        with temporary_settings(updates={PREFECT_API_DATABASE_MIGRATE_ON_START: not copied}):
            server.run(sockets=[listening])
        started = server.started
    except SystemExit:  # uvicorn's way of saying that the app did not start; the reason was logged
        started = False
    except Exception as error:  # reported to the run in one line
        return errors.error or f"{type(error).__name__}: {error}"
    return None if started else errors.error or "no reason given"


def main(argv: list[str]) -> int:
    """The child's entry point: serve on the inherited socket whose descriptor is argv[0]."""
    why = serve(socket.socket(fileno=int(argv[0])))
    if why is not None:
        _say(f"{ERROR} {why}")
        return 1
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(status)  # the database is closed: tearing Prefect's modules down would only take a second more
