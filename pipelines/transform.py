"""Build the DuckDB models of sql/ into a scratch database and swap it in when every check passed.

Models marked `-- incremental: by local_day` are rebuilt only for the local days whose log parts
changed since the last build; the published database keeps the other days' rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import graphlib
import hashlib
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
_BY_DAY = re.compile(r"^-- incremental: by local_day\b", re.MULTILINE)

# The page-level warehouse tables: a model declared `-- incremental: by local_day` reads only their
# rows of the days being rebuilt (schema DELTA_PREFIX + "raw"), and keeps the other days' rows.
PAGE_LEVEL_RAW = ("access_log", "log_rejects")
PAGE_LEVEL_PARTS = {"access_log": "access_log/day=*/*.parquet", "log_rejects": "log_rejects/*.parquet"}
DELTA_PREFIX = "delta_"
# What the published database records about its build, for the next one to compare with.
STATE_SCHEMA = "build_state"
# Bump when the runner changes what it builds, so that the next build is a full one.
STATE_VERSION = "1"
# The previous warehouse database, attached read-only during an incremental build.
PUBLISHED = "published"


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
    by_day: bool = False


@dataclass(frozen=True)
class BuildReport:
    """What a build did: models built in order, checks run, rows of each mart, seconds taken, days rebuilt."""

    models: tuple[str, ...]
    checks: tuple[str, ...]
    mart_rows: dict[str, int]
    seconds: float
    # The local days whose page-level rows were rebuilt (None: undated rows), or None for a full build.
    rebuilt_days: tuple[dt.date | None, ...] | None = None
    why_full: str = ""


@dataclass(frozen=True)
class BuildPlan:
    """What a build starts from: the page-level parts on disk, and the days to rebuild (None: every day)."""

    fingerprint: str
    parts: dict[str, tuple[int, int]]
    days: frozenset[dt.date | None] | None
    why_full: str = ""


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
    kind = materialized[1] if materialized else "table"
    return Model(f"{layer}.{table}", layer, path, sql, references, kind, bool(_BY_DAY.search(sql)))


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


def _raw_select(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> str:
    """The typed select of a warehouse table over the given files, empty when there is none."""
    if not files:
        return _empty_select(RAW_TABLES[table])
    if table == "archive_files":
        return _listing_select(files)
    source = _parquet_source(files)
    try:
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    except duckdb.Error as error:
        raise UserError(f"cannot read warehouse/{RAW_FILES[table]}: {_first_line(error)}") from None
    return _typed_select(table, source, present)


def expose_raw(con: duckdb.DuckDBPyConnection, warehouse_dir: Path) -> None:
    """Create the raw.* views over the warehouse Parquet files, empty where none exists yet."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table in RAW_TABLES:
        files = sorted(path for path in warehouse_dir.glob(RAW_FILES[table]) if not path.name.startswith("."))
        con.execute(f"CREATE OR REPLACE VIEW raw.{table} AS {_raw_select(con, table, files)}")


def days_condition(days: frozenset[dt.date | None]) -> str:
    """A SQL condition on local_day that holds for the given days (None: rows without a day)."""
    dated = sorted(day for day in days if day is not None)
    terms = [f"local_day IN ({', '.join(f'DATE {day.isoformat()!r}' for day in dated)})"] if dated else []
    if None in days:
        terms.append("local_day IS NULL")
    return " OR ".join(terms) or "false"


def expose_delta_raw(con: duckdb.DuckDBPyConnection, warehouse_dir: Path, days: frozenset[dt.date | None]) -> None:
    """Create delta_raw.access_log and delta_raw.log_rejects: the page-level rows of the given days only."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {DELTA_PREFIX}raw")
    day_parts = [sorted(warehouse_dir.glob(f"access_log/day={day}/*.parquet")) for day in days if day is not None]
    access_parts = [path for paths in day_parts for path in paths if not path.name.startswith(".")]
    selects = {
        "access_log": _raw_select(con, "access_log", sorted(access_parts)),
        # rejects are few, and an undated one may be in any file
        "log_rejects": "SELECT * FROM raw.log_rejects",
    }
    for table, select in selects.items():
        con.execute(
            f"CREATE OR REPLACE VIEW {DELTA_PREFIX}raw.{table} AS SELECT * FROM ({select}) WHERE {days_condition(days)}"
        )


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
    return _build_models(con, settings, only, sql_dir, None)[0]


def _build_models(
    con: duckdb.DuckDBPyConnection, settings: Settings, only: list[str] | None, sql_dir: Path,
    days: frozenset[dt.date | None] | None,
) -> tuple[list[str], str, set[str]]:
    """Build the models in order, the by-day ones only for `days` (None: in full).

    Returns the models built, why the build went full on the way, and the models built by day.
    """
    models = discover_models(sql_dir)
    ordered = order_models(models)
    if only is not None:
        wanted = _with_upstream(models, only)
        ordered = [model for model in ordered if model.name in wanted]
    set_variables(con, settings)
    load_seeds(con, settings, sql_dir)
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    why_full, compared, by_day = "", {}, set()
    for model in ordered:
        if days is not None and model.by_day:
            changed = _changed_input(con, model, models, compared)
            if changed:
                days, why_full = None, f"{changed} changed, which every day's rows depend on"
        try:
            if days is not None and model.by_day:
                _build_days(con, model, by_day, days)
                by_day.add(model.name)
            else:
                con.execute(f"CREATE OR REPLACE {model.materialized.upper()} {model.name} AS\n{model.sql}")
        except duckdb.Error as error:
            raise ModelError(f"model {model.name} failed: {_first_line(error)}") from None
    return [model.name for model in ordered], why_full, by_day


def _delta_sql(sql: str, by_day: set[str]) -> str:
    """A select that reads the delta_* tables (the rebuilt days only) of the page-level tables and by-day models."""
    def delta(reference: re.Match) -> str:
        schema, table = reference[1], reference[2]
        rebuilt = table in PAGE_LEVEL_RAW if schema == "raw" else reference[0] in by_day
        return DELTA_PREFIX + reference[0] if rebuilt else reference[0]

    return _REFERENCE.sub(delta, sql)


def _build_days(
    con: duckdb.DuckDBPyConnection, model: Model, by_day: set[str], days: frozenset[dt.date | None]
) -> None:
    """Rebuild a by-day model's rows of the given days from those days' inputs; keep its other days' rows."""
    delta = DELTA_PREFIX + model.name
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {DELTA_PREFIX}{model.layer}")
    con.execute(f"CREATE OR REPLACE {model.materialized.upper()} {delta} AS\n{_delta_sql(model.sql, by_day)}")
    if model.materialized == "view":
        con.execute(f"CREATE OR REPLACE VIEW {model.name} AS\n{model.sql}")
        return
    columns = {row[0] for row in con.execute(f"DESCRIBE {delta}").fetchall()}
    if "local_day" not in columns:
        raise ModelError(f"model {model.name} is built by local_day but has no local_day column")
    where = days_condition(days)
    con.execute(f"DELETE FROM {model.name} WHERE {where}")
    con.execute(f"INSERT INTO {model.name} BY NAME SELECT * FROM {delta} WHERE {where}")


def _changed_input(
    con: duckdb.DuckDBPyConnection, model: Model, models: dict[str, Model], compared: dict[str, bool]
) -> str | None:
    """The first table read by a by-day model, other than by-day ones, that differs from the published build."""
    for reference in sorted(model.references):
        schema, table = reference.split(".")
        if (table in PAGE_LEVEL_RAW) if schema == "raw" else getattr(models.get(reference), "by_day", False):
            continue
        if reference not in compared:
            compared[reference] = schema != "raw" and _same_as_published(con, reference)
        if not compared[reference]:
            return reference
    return None


def _same_as_published(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether a table holds the same rows (as a multiset) as in the published database."""
    schema, name = table.split(".")
    shapes = [
        con.execute(
            "SELECT list(column_name || ' ' || data_type ORDER BY column_index) FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = ? AND table_name = ?", [database, schema, name]
        ).fetchone()[0]
        for database in (con.execute("SELECT current_database()").fetchone()[0], PUBLISHED)
    ]
    if shapes[1] is None or shapes[0] != shapes[1]:
        return False
    published = f"{PUBLISHED}.{table}"
    (same,) = con.execute(
        f"SELECT (SELECT count(*) FROM {table}) = (SELECT count(*) FROM {published}) "
        f"AND NOT EXISTS (SELECT * FROM {table} EXCEPT ALL SELECT * FROM {published})"
    ).fetchone()
    return bool(same)


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


def run_checks(
    con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, by_day: frozenset[str] = frozenset()
) -> list[str]:
    """Run every check; raise CheckFailed naming the first failing one, with a sample of its rows.

    A check marked `-- incremental: by local_day` reads only the rebuilt days of the `by_day` models:
    their other days' rows are those that passed the same check in the build that published them.
    """
    failures: list[str] = []
    checks = discover_checks(sql_dir)
    for name, sql in checks.items():
        if by_day and _BY_DAY.search(sql):
            sql = _delta_sql(sql, set(by_day))
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
    """Drop raw.*, the delta_* schemas and every view: the published database stands on its own."""
    views = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()
    for schema, view in views:
        con.execute(f"DROP VIEW {schema}.{view}")
    for schema in ("raw", *(DELTA_PREFIX + name for name in ("raw", *LAYERS))):
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def fingerprint(settings: Settings, sql_dir: Path = SQL_DIR) -> str:
    """A hash of what the models' rows depend on besides the warehouse: SQL files, seeds, metric settings."""
    digest = hashlib.sha256(
        f"{STATE_VERSION}|{settings.timezone}|{settings.visit_timeout_minutes}|{RAW_TABLES}".encode()
    )
    sql_files = {str(path.relative_to(sql_dir)): path for path in sorted(sql_dir.rglob("*")) if path.is_file()}
    seeds = {f"seed {stem}": path for stem, path in seed_files(settings, sql_dir).items()}
    for name, path in (sql_files | seeds).items():
        if not path.name.startswith("."):
            content = path.read_bytes()
            digest.update(f"\0{name}\0{len(content)}\0".encode() + content)
    return digest.hexdigest()


def page_level_parts(warehouse_dir: Path) -> dict[str, tuple[int, int]]:
    """The Parquet parts of the page-level tables, by path in the warehouse, with their size and mtime."""
    parts = {}
    for pattern in PAGE_LEVEL_PARTS.values():
        for path in sorted(warehouse_dir.glob(pattern)):
            if not path.name.startswith("."):
                stat = path.stat()
                parts[path.relative_to(warehouse_dir).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return parts


def published_state(database: Path) -> tuple[str, dict[str, tuple[int, int]]] | None:
    """The fingerprint and page-level parts recorded by the build of a database; None when it has none."""
    with duckdb.connect(str(database), read_only=True) as con:
        recorded = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name IN ('fingerprint', 'log_parts')",
            [STATE_SCHEMA],
        ).fetchone()[0]
        if recorded < 2:
            return None
        (state,) = con.execute(f"SELECT fingerprint FROM {STATE_SCHEMA}.fingerprint").fetchone()
        rows = con.execute(f"SELECT part, size, mtime_ns FROM {STATE_SCHEMA}.log_parts").fetchall()
    return state, {part: (size, mtime_ns) for part, size, mtime_ns in rows}


def record_state(con: duckdb.DuckDBPyConnection, plan: BuildPlan) -> None:
    """Write the build's fingerprint and the page-level parts it read into the database, for the next build."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.fingerprint AS SELECT ? AS fingerprint", [plan.fingerprint])
    parts = sorted(plan.parts)
    con.execute(
        f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.log_parts AS "
        "SELECT unnest(?::VARCHAR[]) AS part, unnest(?::BIGINT[]) AS size, unnest(?::BIGINT[]) AS mtime_ns",
        [parts, [plan.parts[part][0] for part in parts], [plan.parts[part][1] for part in parts]],
    )


def _reject_days(warehouse_dir: Path, parts: list[str]) -> set[dt.date | None]:
    """The local days (None: undated) of the rejected lines in the given log_rejects parts."""
    if not parts:
        return set()
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT local_day FROM {_parquet_source([warehouse_dir / part for part in parts])}"
        ).fetchall()
    return {day for (day,) in rows}


def plan_build(settings: Settings, sql_dir: Path = SQL_DIR, full: bool = False) -> BuildPlan:
    """Which days a build must rebuild: those whose page-level parts are new or changed, or every day."""
    warehouse = settings.warehouse_dir
    parts, state = page_level_parts(warehouse), fingerprint(settings, sql_dir)
    database = warehouse / WAREHOUSE_DB
    if full or not database.exists():
        why = "a full build was asked for" if full else "there is no previous database"
        return BuildPlan(state, parts, None, why)
    try:
        previous = published_state(database)
    except duckdb.Error as error:
        return BuildPlan(state, parts, None, f"the previous database cannot be read ({_first_line(error)})")
    if previous is None:
        return BuildPlan(state, parts, None, "the previous database records no build state")
    if previous[0] != state:
        return BuildPlan(state, parts, None, "the models, seeds or metric settings changed")
    if previous[1].keys() - parts.keys():
        return BuildPlan(state, parts, None, "page-level parts were removed (retention)")
    changed = [part for part, stat in parts.items() if previous[1].get(part) != stat]
    if any(part.startswith("log_rejects/") and part in previous[1] for part in changed):
        return BuildPlan(state, parts, None, "rejected lines were rewritten")
    access_parts = [part for part in changed if part.startswith("access_log/")]
    days: set[dt.date | None] = {dt.date.fromisoformat(part.split("/")[1][len("day="):]) for part in access_parts}
    days |= _reject_days(warehouse, [part for part in changed if part.startswith("log_rejects/")])
    return BuildPlan(state, parts, frozenset(days))


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


def build(settings: Settings, sql_dir: Path = SQL_DIR, full: bool = False) -> BuildReport:
    """Build the models and checks into a scratch database, then swap it in as warehouse/ent.duckdb.

    Only the local days whose page-level parts changed since the last build are rebuilt, the other
    days' rows kept from the published database; every day when `full`, or when that is not safe.
    """
    warehouse = settings.warehouse_dir
    warehouse.mkdir(parents=True, exist_ok=True)
    with _exclusive(warehouse):
        return _build(settings, warehouse, sql_dir, plan_build(settings, sql_dir, full))


def _build(settings: Settings, warehouse: Path, sql_dir: Path, plan: BuildPlan) -> BuildReport:
    """The build itself, once the warehouse is locked."""
    started = time.perf_counter()
    target = warehouse / WAREHOUSE_DB
    scratch = warehouse / (WAREHOUSE_DB + ".building")
    scratch_dir = warehouse / (WAREHOUSE_DB + ".spill")
    _remove_scratch(scratch, scratch_dir)
    try:
        if plan.days is not None:
            # the other days' rows stay where they are: a file copy, not a copy of rows
            shutil.copyfile(target, scratch)
        con = connect(scratch, scratch_dir)
        try:
            expose_raw(con, warehouse)
            if plan.days is not None:
                expose_delta_raw(con, warehouse, plan.days)
                con.execute(f"ATTACH '{_quoted(str(target))}' AS {PUBLISHED} (READ_ONLY)")
            built, why_full, by_day = _build_models(con, settings, None, sql_dir, plan.days)
            if plan.days is not None:
                con.execute(f"DETACH {PUBLISHED}")
            checks = run_checks(con, sql_dir, frozenset(by_day))
            mart_rows = mart_row_counts(con)
            drop_source_views(con)
            record_state(con, plan)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
        os.replace(scratch, target)
    finally:
        _remove_scratch(scratch, scratch_dir)
    days = None if plan.days is None or why_full else tuple(sorted(plan.days, key=lambda day: (day is None, day)))
    seconds = round(time.perf_counter() - started, 3)
    return BuildReport(tuple(built), tuple(checks), mart_rows, seconds, days, why_full or plan.why_full)
