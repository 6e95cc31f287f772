"""Prefect's API for a run without a server: served by a thread of the run on a free loopback port.

`LocalPrefectAPI(prefect_home).start()` opens the listening socket and starts the thread that
imports Prefect's server, opens its database and serves; it returns at once, and the run's
worker processes read the raw files meanwhile. Prefect is imported once, by that thread: the
run waits for `wait_for_imports()` before importing Prefect's client, since two threads
importing the same modules at once may each see the other's half made.

The API lives and dies with the run's process, however it ends (kill -9 included): no server
is left behind. Its warnings and errors go to PREFECT_HOME/local-api.log; when it cannot start,
`wait` says why in one line.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import partial
from pathlib import Path

from pipelines.errors import UserError

START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
LOG_NAME = "local-api.log"
SERVER_LOGGERS = ("prefect.server", "uvicorn", "fastapi")


class LocalPrefectAPI:
    """Prefect's API served by a thread of this process for as long as this run lasts."""

    def __init__(self, prefect_home: Path) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)  # clients may connect at once: they are answered once it serves
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/api"
        self.log_path = prefect_home / LOG_NAME
        self._imported = threading.Event()
        self._answered = threading.Event()  # serving, or failed to
        self._server: object | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False

    def start(self) -> LocalPrefectAPI:
        """Start the thread serving the API; returns at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._serve, name="local Prefect API", daemon=True)
        self._thread.start()
        return self

    def wait_for_imports(self) -> None:
        """Block until the thread has imported Prefect's server (or failed to)."""
        self._imported.wait()

    def wait(self) -> str:
        """Block until the API answers; returns its URL. An API that cannot serve raises UserError."""
        if not self._answered.wait(START_TIMEOUT_SECONDS):
            raise UserError(f"the local Prefect API did not start within {START_TIMEOUT_SECONDS} s")
        if self._error is not None:
            raise UserError(f"the local Prefect API could not start: {self._error}")
        return self.url

    def stop(self) -> None:
        """Stop serving, once what was asked is answered and the database closed.

        An API still starting is not waited for: its thread sees the stop before serving.
        """
        with self._lock:
            self._stopping = True
            server = self._server
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
            if self._thread is not None:
                self._thread.join(STOP_TIMEOUT_SECONDS)
        self._socket.close()

    @property
    def ready(self) -> bool:
        """Whether the API answered."""
        return self._answered.is_set() and self._error is None

    def _serve(self) -> None:
        try:
            self._error = self._serve_until_stopped()
        except Exception as error:  # reported by `wait`, in one line
            self._error = f"{type(error).__name__}: {error}"
        finally:
            self._answered.set()

    def _serve_until_stopped(self) -> str | None:
        """Serve on the socket until stopped; returns why it could not start, if it could not."""
        try:
            import uvicorn
            from prefect.server.api.server import create_app

            from prefect.settings import PREFECT_API_DATABASE_MIGRATE_ON_START, temporary_settings
        finally:
            self._imported.set()

        copied, when_serving = _start_from_template(_sqlite_database())
        app = create_app(ephemeral=True, ignore_cache=True)  # sets Prefect's logging up: the handlers come after
        errors = _FirstError()
        with _server_logs(self.log_path, errors):
            config = uvicorn.Config(app, log_level="error", log_config=None, lifespan="on")
            server = _server_calling(self._serving(when_serving), config)
            with self._lock:
                if self._stopping:
                    return None
                self._server = server
            try:
                with temporary_settings(updates={PREFECT_API_DATABASE_MIGRATE_ON_START: not copied}):
                    server.run(sockets=[self._socket])
            except SystemExit:  # uvicorn's way of saying that the app did not start; the reason was logged
                pass
            except Exception as error:
                return errors.error or f"{type(error).__name__}: {error}"
        return None if server.started else errors.error or f"no reason given (see {self.log_path})"

    def _serving(self, then: Callable[[], None]) -> Callable[[], None]:
        def serving() -> None:
            self._answered.set()
            then()

        return serving


def start_local_api() -> LocalPrefectAPI | None:
    """A local API starting for this run, unless PREFECT_API_URL names a server (call configure_prefect first)."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    return LocalPrefectAPI(Path(os.environ["PREFECT_HOME"]).expanduser()).start()


def _server_calling(serving: Callable[[], None], config: object) -> object:
    """A uvicorn server that calls `serving` once it accepts connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                serving()

    return Server(config)


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


@contextmanager
def _server_logs(path: Path, errors: _FirstError) -> Iterator[None]:
    """The server's warnings and errors in its log file, and its first error kept, while it serves."""
    to_file = logging.FileHandler(path, delay=True)
    to_file.setLevel(logging.WARNING)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    for logger in loggers:
        logger.addHandler(to_file)
        logger.addHandler(errors)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(to_file)
            logger.removeHandler(errors)
        to_file.close()


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
