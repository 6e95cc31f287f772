"""Build the DuckDB models of sql/ into a scratch database and swap it in when every check passed."""

from __future__ import annotations

import contextlib
import fcntl
import graphlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import UserError
from pipelines.settings import Settings

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "intermediate", "marts")
# What each layer may read: staging only the sources, a mart never another mart.
READABLE = {
    "staging": {"raw", "seeds"},
    "intermediate": {"seeds", "staging", "intermediate"},
    "marts": {"seeds", "staging", "intermediate"},
}
WAREHOUSE_DB = "ent.duckdb"
# DuckDB spills to disk past this, which keeps the whole process under about 2 GiB.
MEMORY_LIMIT = "1GiB"
# A failed check shows this many offending rows, each value cut to this width.
SAMPLE_ROWS = 3
SAMPLE_WIDTH = 60
# Columns a seed table must have (header names match case-insensitively).
SEED_COLUMNS = {"services": ("segment", "service")}

# The Parquet tables of the warehouse (docs/architecture.md), as the models see them.
RAW_TABLES: dict[str, dict[str, str]] = {
    "access_log": {
        "file_id": "VARCHAR", "line_number": "BIGINT", "ts_utc": "TIMESTAMP", "local_ts": "TIMESTAMP",
        "local_day": "DATE", "visitor_key": "VARCHAR", "user_key": "VARCHAR", "method": "VARCHAR",
        "path": "VARCHAR", "query": "VARCHAR", "protocol": "VARCHAR", "status": "SMALLINT",
        "bytes_sent": "BIGINT", "referrer": "VARCHAR", "user_agent": "VARCHAR",
    },
    "log_rejects": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "line_number": "BIGINT", "local_day": "DATE",
        "reason": "VARCHAR", "text": "VARCHAR",
    },
    "directory": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "line_number": "BIGINT", "user_key": "VARCHAR",
        "profile": "VARCHAR", "uai": "VARCHAR",
    },
    "colleges": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "line_number": "BIGINT", "uai": "VARCHAR",
        "name": "VARCHAR", "commune": "VARCHAR", "sector": "VARCHAR", "education_priority": "VARCHAR",
        "students": "INTEGER", "commune_insee": "VARCHAR", "has_ulis": "BOOLEAN",
        "ips": "DOUBLE", "latitude": "DOUBLE", "longitude": "DOUBLE",
    },
    "loans": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "line_number": "BIGINT", "loan_id": "VARCHAR",
        "device_serial": "VARCHAR", "device_type": "VARCHAR", "transfer": "VARCHAR",
        "recipient_type": "VARCHAR", "recipient_key": "VARCHAR", "uai": "VARCHAR",
        "start_date": "DATE", "end_date": "DATE",
    },
    "needs": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "line_number": "BIGINT", "need_id": "VARCHAR",
        "pupil_key": "VARCHAR", "uai": "VARCHAR", "criterion": "VARCHAR", "identified_on": "DATE",
    },
    "csv_rejects": {
        "file_id": "VARCHAR", "source_file": "VARCHAR", "kind": "VARCHAR", "line_number": "BIGINT",
        "reason": "VARCHAR", "text": "VARCHAR",
    },
    "ledger": {
        "path": "VARCHAR", "kind": "VARCHAR", "size": "BIGINT", "mtime_ns": "BIGINT", "file_id": "VARCHAR",
        "status": "VARCHAR", "lines_read": "BIGINT", "lines_accepted": "BIGINT", "lines_rejected": "BIGINT",
        "ingested_at": "TIMESTAMP",
    },
    # Retention keeps the daily marts of expired days in warehouse/archive/<mart>/ (pipelines/retention.py).
    "archive_files": {"mart": "VARCHAR", "file_name": "VARCHAR"},
    "archive_daily_usage": {
        "local_day": "DATE", "uai": "VARCHAR", "profile": "VARCHAR", "service": "VARCHAR", "page_views": "BIGINT",
        "visits": "BIGINT", "visitors": "BIGINT",
    },
    "archive_hourly_usage": {"local_day": "DATE", "hour": "BIGINT", "page_views": "BIGINT", "visits_started": "BIGINT"},
    "archive_space_days": {"space_id": "VARCHAR", "local_day": "DATE", "page_views": "BIGINT", "visitors": "BIGINT"},
    "archive_log_lines_daily": {"local_day": "DATE", "outcome": "VARCHAR", "reason": "VARCHAR", "lines": "BIGINT"},
}
# Columns a file may lack (the reference file has them only in its long form); they read as null.
OPTIONAL_COLUMNS = {"colleges": {"commune_insee", "has_ulis", "ips", "latitude", "longitude"}}
RAW_FILES = {name: f"{name}/*.parquet" for name in RAW_TABLES} | {
    "access_log": "access_log/*/*.parquet",
    "ledger": "ledger.parquet",
    "archive_files": "archive/*/*.parquet",
    "archive_daily_usage": "archive/fct_daily_usage/*.parquet",
    "archive_hourly_usage": "archive/fct_hourly_usage/*.parquet",
    "archive_space_days": "archive/fct_space_days/*.parquet",
    "archive_log_lines_daily": "archive/fct_log_lines_daily/*.parquet",
}

_REFERENCE = re.compile(r"(?<![\w.])(raw|seeds|staging|intermediate|marts)\.([A-Za-z_]\w*)")
_COMMENT = re.compile(r"--[^\n]*")
_MATERIALIZED = re.compile(r"^-- materialized: (table|view)\b", re.MULTILINE)


class ModelError(UserError):
    """A model that cannot be ordered or built (bad reference, cycle, SQL error)."""


class CheckFailed(UserError):
    """A check returned offending rows, so the warehouse was not replaced."""


@dataclass(frozen=True)
class Model:
    """One SQL file of sql/<layer>/: its table name, its select and the tables it reads."""

    name: str
    layer: str
    path: Path
    sql: str
    references: frozenset[str]
    materialized: str = "table"


@dataclass(frozen=True)
class BuildReport:
    """What a build did: models built in order, checks run, rows of each mart, seconds taken."""

    models: tuple[str, ...]
    checks: tuple[str, ...]
    mart_rows: dict[str, int]
    seconds: float


def _select_text(path: Path) -> str:
    """The SQL of a file, without a trailing semicolon (it is wrapped in CREATE TABLE ... AS)."""
    return path.read_text(encoding="utf-8").strip().rstrip(";").rstrip()


def read_model(path: Path) -> Model:
    """Parse one model file; its first line must state the grain."""
    layer, table = path.parent.name, path.stem
    sql = _select_text(path)
    if not sql.startswith("-- grain:"):
        raise ModelError(f"{path}: the first line must state the grain, like '-- grain: one row per visit'")
    found = _REFERENCE.findall(_COMMENT.sub("", sql))
    references = frozenset(f"{schema}.{name}" for schema, name in found)
    materialized = _MATERIALIZED.search(sql)
    return Model(f"{layer}.{table}", layer, path, sql, references, materialized[1] if materialized else "table")


def discover_models(sql_dir: Path = SQL_DIR) -> dict[str, Model]:
    """Every model of sql/staging, sql/intermediate and sql/marts, by `schema.name`."""
    paths = [path for layer in LAYERS for path in sorted((sql_dir / layer).glob("*.sql"))]
    return {model.name: model for model in map(read_model, paths)}


def _refused_reference(model: Model, reference: str, models: dict[str, Model]) -> str | None:
    """Why a model may not read a table, or None when it may."""
    schema = reference.split(".")[0]
    if schema not in READABLE[model.layer]:
        if model.layer == "marts" and schema == "marts":
            return "a mart never reads another mart"
        if schema == "raw":
            return "only staging models read raw.*"
        return "layers read downward only (raw → staging → intermediate → marts)"
    if schema == "raw" and reference.split(".")[1] not in RAW_TABLES:
        return "there is no such warehouse table"
    if schema in LAYERS and reference not in models:
        return "there is no such model in sql/"
    return None


def order_models(models: dict[str, Model]) -> list[Model]:
    """Models in build order; refuses upward references, unknown models and cycles."""
    graph = graphlib.TopologicalSorter()
    for model in models.values():
        for reference in sorted(model.references):
            reason = _refused_reference(model, reference, models)
            if reason:
                raise ModelError(f"{model.name} ({model.path.name}) reads {reference}: {reason}")
        graph.add(model.name, *sorted(ref for ref in model.references if ref in models))
    try:
        graph.prepare()
    except graphlib.CycleError as error:
        raise ModelError(f"models read each other in a cycle: {' → '.join(error.args[1])}") from None
    ordered: list[Model] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        ordered.extend(models[name] for name in ready)
        graph.done(*ready)
    return ordered


def _with_upstream(models: dict[str, Model], only: list[str]) -> set[str]:
    """The named models and every model they read, directly or not."""
    wanted: set[str] = set()
    pending = list(only)
    while pending:
        name = pending.pop()
        if name not in models:
            raise ModelError(f"there is no model {name} in sql/")
        if name not in wanted:
            wanted.add(name)
            pending.extend(ref for ref in models[name].references if ref in models)
    return wanted


def connect(database: Path | str, scratch_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for a build: UTC session, bounded memory, every core."""
    con = duckdb.connect(str(database))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    # Insertion order is not a property of any model; dropping it saves memory on big tables.
    con.execute("SET preserve_insertion_order = false")
    if scratch_dir is not None:
        con.execute(f"SET temp_directory = '{_quoted(str(scratch_dir))}'")
    return con


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _empty_select(columns: dict[str, str]) -> str:
    """A typed select of no rows, for a warehouse table that no file holds yet."""
    casts = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in columns.items())
    return f"SELECT {casts} WHERE false"


def create_empty_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw.* table empty and typed (tests fill them by hand)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in RAW_TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE raw.{table} AS {_empty_select(columns)}")


def _parquet_source(files: list[Path]) -> str:
    """read_parquet over the given files; the day folders are not read as a column."""
    listed = ", ".join(f"'{_quoted(str(path.resolve()))}'" for path in files)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"


def _typed_select(table: str, source: str, present: set[str]) -> str:
    """The declared columns of a warehouse table, cast; an optional column that no file has reads as null."""
    columns = RAW_TABLES[table]
    missing = [c for c in columns if c not in present and c not in OPTIONAL_COLUMNS.get(table, set())]
    if missing:
        raise UserError(f"warehouse/{RAW_FILES[table]} lacks column(s) {', '.join(missing)}: ingest again")
    casts = ", ".join(
        f"CAST({c if c in present else 'NULL'} AS {kind}) AS {c}" for c, kind in columns.items()
    )
    return f"SELECT {casts} FROM {source}"


def _listing_select(files: list[Path]) -> str:
    """The archive files by mart folder and name: a day archived with no rows still shows here."""
    rows = ", ".join(f"('{_quoted(path.parent.name)}', '{_quoted(path.name)}')" for path in files)
    return f"SELECT * FROM (VALUES {rows}) AS files(mart, file_name)"


def expose_raw(con: duckdb.DuckDBPyConnection, warehouse_dir: Path) -> None:
    """Create the raw.* views over the warehouse Parquet files, empty where none exists yet."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in RAW_TABLES.items():
        files = sorted(path for path in warehouse_dir.glob(RAW_FILES[table]) if not path.name.startswith("."))
        select = _empty_select(columns)
        if files and table == "archive_files":
            select = _listing_select(files)
        elif files:
            source = _parquet_source(files)
            try:
                present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            except duckdb.Error as error:
                raise UserError(f"cannot read warehouse/{RAW_FILES[table]}: {_first_line(error)}") from None
            select = _typed_select(table, source, present)
        con.execute(f"CREATE OR REPLACE VIEW raw.{table} AS {select}")


def seed_files(settings: Settings, sql_dir: Path = SQL_DIR) -> dict[str, Path]:
    """The CSV of each seed table by name; settings.services_file replaces the shipped services table."""
    seeds = {path.stem: path for path in sorted((sql_dir / "seeds").glob("*.csv"))}
    if settings.services_file is not None:
        if not settings.services_file.is_file():
            raise UserError(f"the services table {settings.services_file} does not exist")
        seeds["services"] = settings.services_file
    return seeds


def load_seeds(con: duckdb.DuckDBPyConnection, settings: Settings, sql_dir: Path = SQL_DIR) -> list[str]:
    """Load every seed CSV as a text table seeds.<stem>; returns the table names."""
    con.execute("CREATE SCHEMA IF NOT EXISTS seeds")
    names = []
    for stem, path in seed_files(settings, sql_dir).items():
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE seeds.{stem} AS "
                f"SELECT * FROM read_csv('{_quoted(str(path))}', header = true, all_varchar = true)"
            )
        except duckdb.Error as error:
            raise UserError(f"cannot read the seed table {path}: {_first_line(error)}") from None
        present = {row[0].lower() for row in con.execute(f"DESCRIBE seeds.{stem}").fetchall()}
        missing = [column for column in SEED_COLUMNS.get(stem, ()) if column not in present]
        if missing:
            raise UserError(f"the seed table {path} lacks column(s) {', '.join(missing)}")
        names.append(f"seeds.{stem}")
    return names


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def set_variables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Pass the metric settings to SQL, read there with getvariable()."""
    con.execute(f"SET VARIABLE visit_timeout_minutes = {int(settings.visit_timeout_minutes)}")


def build_models(
    con: duckdb.DuckDBPyConnection, settings: Settings, only: list[str] | None = None, sql_dir: Path = SQL_DIR
) -> list[str]:
    """Build the models (all, or the named ones and what they read) in order; raw.* must exist."""
    models = discover_models(sql_dir)
    ordered = order_models(models)
    if only is not None:
        wanted = _with_upstream(models, only)
        ordered = [model for model in ordered if model.name in wanted]
    set_variables(con, settings)
    load_seeds(con, settings, sql_dir)
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    for model in ordered:
        try:
            con.execute(f"CREATE OR REPLACE {model.materialized.upper()} {model.name} AS\n{model.sql}")
        except duckdb.Error as error:
            raise ModelError(f"model {model.name} failed: {_first_line(error)}") from None
    return [model.name for model in ordered]


def discover_checks(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """Every check of sql/checks by name (`<model>__<rule>`), as its select."""
    tables = {path.stem for layer in LAYERS for path in (sql_dir / layer).glob("*.sql")}
    checks = {}
    for path in sorted((sql_dir / "checks").glob("*.sql")):
        if path.stem.rpartition("__")[0] not in tables:
            raise ModelError(f"check {path.name} must be named <model>__<rule> after one of the models")
        checks[path.stem] = _select_text(path)
    return checks


def _cell(value: object) -> str:
    """A value as it fits in a one-line message."""
    text = " ".join(str(value).split())
    return text if len(text) <= SAMPLE_WIDTH else text[: SAMPLE_WIDTH - 1] + "…"


def _sample(rows: list[tuple], columns: list[str]) -> str:
    """A few offending rows, as `column=value` pairs on one line."""
    shown = [", ".join(f"{c}={_cell(v)}" for c, v in zip(columns, row)) for row in rows[:SAMPLE_ROWS]]
    return "; ".join(f"({text})" for text in shown)


def run_checks(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Run every check; raise CheckFailed naming the first failing one, with a sample of its rows."""
    failures: list[str] = []
    checks = discover_checks(sql_dir)
    for name, sql in checks.items():
        try:
            result = con.execute(f"SELECT * FROM (\n{sql}\n) LIMIT {SAMPLE_ROWS + 1}")
            rows = result.fetchall()
        except duckdb.Error as error:
            raise CheckFailed(f"check {name} could not run: {_first_line(error)}") from None
        if rows:
            columns = [column[0] for column in result.description]
            more = " and more" if len(rows) > SAMPLE_ROWS else ""
            failures.append(f"check {name} failed: {_sample(rows, columns)}{more}")
    if failures:
        others = f" (and {len(failures) - 1} other failing check(s))" if len(failures) > 1 else ""
        raise CheckFailed(failures[0] + others)
    return list(checks)


def mart_row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The number of rows of each mart."""
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name"
    ).fetchall()
    return {name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0] for (name,) in tables}


def drop_source_views(con: duckdb.DuckDBPyConnection) -> None:
    """Drop raw.* and every view: they name Parquet paths, and the published database stands on its own."""
    views = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()
    for schema, view in views:
        con.execute(f"DROP VIEW {schema}.{view}")
    con.execute("DROP SCHEMA IF EXISTS raw CASCADE")


def _remove_scratch(scratch: Path, scratch_dir: Path) -> None:
    """Delete the scratch database, its write-ahead log and its spill folder."""
    for path in (scratch, scratch.with_name(scratch.name + ".wal")):
        path.unlink(missing_ok=True)
    if scratch_dir.exists():
        shutil.rmtree(scratch_dir)


@contextlib.contextmanager
def _exclusive(warehouse: Path) -> Iterator[None]:
    """Hold a lock on the warehouse folder, so that two builds never share a scratch database."""
    descriptor = os.open(warehouse, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another build of {warehouse} is running; try again when it has finished") from None
        yield
    finally:
        os.close(descriptor)


def build(settings: Settings, sql_dir: Path = SQL_DIR) -> BuildReport:
    """Build every model and check into a scratch database, then swap it in as warehouse/ent.duckdb."""
    warehouse = settings.warehouse_dir
    warehouse.mkdir(parents=True, exist_ok=True)
    with _exclusive(warehouse):
        return _build(settings, warehouse, sql_dir)


def _build(settings: Settings, warehouse: Path, sql_dir: Path) -> BuildReport:
    """The build itself, once the warehouse is locked."""
    started = time.perf_counter()
    target = warehouse / WAREHOUSE_DB
    scratch = warehouse / (WAREHOUSE_DB + ".building")
    scratch_dir = warehouse / (WAREHOUSE_DB + ".spill")
    _remove_scratch(scratch, scratch_dir)
    try:
        con = connect(scratch, scratch_dir)
        try:
            expose_raw(con, warehouse)
            built = build_models(con, settings, sql_dir=sql_dir)
            checks = run_checks(con, sql_dir)
            mart_rows = mart_row_counts(con)
            drop_source_views(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
        os.replace(scratch, target)
    finally:
        _remove_scratch(scratch, scratch_dir)
    return BuildReport(tuple(built), tuple(checks), mart_rows, round(time.perf_counter() - started, 3))
