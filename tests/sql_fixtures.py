"""Hand-written warehouse rows for the SQL model tests: fill raw.* on a connection, build, read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pipelines import transform
from pipelines.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0 Safari/537.36"


def raw_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory database whose raw.* tables exist, typed and empty."""
    con = transform.connect(":memory:")
    transform.create_empty_raw(con)
    return con


def log_line(
    local: str,
    visitor: str = "visitor-1",
    user: str | None = None,
    path: str = "/",
    method: str = "GET",
    status: int = 200,
    user_agent: str | None = BROWSER,
    fold: int = 0,
    query: str | None = None,
) -> dict[str, Any]:
    """One accepted log line at a Paris wall time ('2020-03-16 08:00:00'); fold=1 picks the later of a repeated hour."""
    wall = dt.datetime.fromisoformat(local)
    utc = wall.replace(tzinfo=PARIS, fold=fold).astimezone(dt.UTC).replace(tzinfo=None)
    return {
        "ts_utc": utc, "local_ts": wall, "local_day": wall.date(), "visitor_key": visitor, "user_key": user,
        "method": method, "path": path, "query": query, "protocol": "HTTP/1.1", "status": status,
        "bytes_sent": 512, "referrer": None, "user_agent": user_agent,
    }


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], file_id: str = "f1") -> None:
    """Append rows to raw.<table>; missing columns are null, file_id and line numbers are filled in."""
    columns = list(transform.RAW_TABLES[table])
    start = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
    values = []
    for number, row in enumerate(rows, start=start + 2):
        filled = {"file_id": file_id, "line_number": number} | row
        values.append([filled.get(column) for column in columns])
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO raw.{table} ({', '.join(columns)}) VALUES ({placeholders})", values)


def build(con: duckdb.DuckDBPyConnection, *models: str, settings: Settings | None = None) -> None:
    """Build the named models and what they read."""
    transform.build_models(con, settings or Settings(), only=list(models))


def select(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> list[tuple]:
    """The rows of a query."""
    return con.execute(sql, parameters).fetchall()


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """The rows of a query as dicts by column name."""
    result = con.execute(sql)
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row)) for row in result.fetchall()]


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> Path:
    """Copy raw.<table> of a connection to a Parquet file, as ingestion would leave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY raw.{table} TO '{path}' (FORMAT parquet)")
    return path
