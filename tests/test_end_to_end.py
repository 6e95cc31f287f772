"""The whole job on a generated department: every published figure equals the generator's truth."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

pytestmark = pytest.mark.slow


def ent_analytics(*args: str, data_dir: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console command as a user would, with a test key and no Prefect home of the user's."""
    env = dict(os.environ, ENT_ANALYTICS_PSEUDONYM_KEY="end-to-end", PREFECT_HOME=str(data_dir / "prefect"))
    command = [str(Path(sys.executable).parent / "ent-analytics"), *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo")
    result = ent_analytics("demo", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return data_dir


def truth(data_dir: Path) -> dict:
    return json.loads((data_dir / "truth.json").read_text())


def test_quality_equals_the_generators_truth(demo_dir: Path) -> None:
    result = ent_analytics("quality", "--format", "json", data_dir=demo_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == truth(demo_dir)["quality"]


def test_every_headline_figure_equals_the_generators_truth(demo_dir: Path) -> None:
    periods = truth(demo_dir)["headlines"]
    assert len(periods) == 3
    for expected in periods:
        start, end = expected["period"]["start"], expected["period"]["end"]
        result = ent_analytics("headline", "--format", "json", "--start", start, "--end", end, data_dir=demo_dir)
        assert result.returncode == 0, result.stderr
        published = json.loads(result.stdout)
        for key in expected:
            assert published[key] == expected[key], f"{key} for {start}..{end}"


def test_a_reader_that_leaves_early_ends_the_command_quietly(demo_dir: Path) -> None:
    # Buffered output, as in a shell (the test run may set PYTHONUNBUFFERED): it is written at the end.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    env.update(ENT_ANALYTICS_PSEUDONYM_KEY="end-to-end", PREFECT_HOME=str(demo_dir / "prefect"))
    command = [str(Path(sys.executable).parent / "ent-analytics"), "headline", "--data-dir", str(demo_dir)]
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes
    try:
        result = subprocess.run(command, env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, "")


def test_a_second_run_changes_no_figure(demo_dir: Path) -> None:
    before = ent_analytics("headline", "--format", "json", data_dir=demo_dir).stdout
    quality_before = ent_analytics("quality", "--format", "json", data_dir=demo_dir).stdout
    # From inside the data folder, whose `dashboards/` output must not shadow the package.
    result = ent_analytics("run", data_dir=Path("."), cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    assert ent_analytics("headline", "--format", "json", data_dir=demo_dir).stdout == before
    assert ent_analytics("quality", "--format", "json", data_dir=demo_dir).stdout == quality_before


def test_dashboards_are_published_with_an_index(demo_dir: Path) -> None:
    pages = {path.name for path in (demo_dir / "dashboards").glob("*.html")}
    assert {"index.html", "usage.html", "equipment.html", "press.html", "quality.html"} <= pages


def raw_identifiers(data_dir: Path) -> list[str]:
    """Every login of the directory and every client address of the logs, as written in the raw files."""
    logins: set[str] = set()
    for export in (data_dir / "raw" / "directory").iterdir():
        frame = pl.read_csv(export, separator=";", infer_schema=False, encoding="utf8-lossy")
        logins |= set(frame[frame.columns[0]].to_list())
    addresses: set[str] = set()
    for log in sorted((data_dir / "raw" / "logs").iterdir())[:5]:
        with gzip.open(log, "rt", errors="replace") as lines:
            addresses |= {match.group(1) for match in map(re.compile(r"^(\S+) ").match, lines) if match}
    return sorted(value for value in logins | addresses if value and len(value) > 6)


def warehouse_strings(data_dir: Path) -> pl.DataFrame:
    """Every distinct string value of every Parquet file and DuckDB table the run wrote, with its origin."""
    frames = [
        pl.read_parquet(parquet).with_columns(origin=pl.lit(str(parquet)))
        for parquet in (data_dir / "warehouse").rglob("*.parquet")
    ]
    with duckdb.connect(str(data_dir / "warehouse" / "ent.duckdb"), read_only=True) as con:
        for schema, table in con.sql("select schema_name, table_name from duckdb_tables()").fetchall():
            frame = con.sql(f'select * from "{schema}"."{table}"').pl()
            frames.append(frame.with_columns(origin=pl.lit(f"{schema}.{table}")))
    values = [
        frame.select(pl.col(name).alias("value"), "origin").unique()
        for frame in frames
        for name, kind in frame.schema.items()
        if kind == pl.String and name != "origin"
    ]
    return pl.concat(values).drop_nulls()


def test_no_raw_login_or_ip_reaches_the_warehouse_or_the_dashboards(demo_dir: Path) -> None:
    identifiers = raw_identifiers(demo_dir)
    assert len(identifiers) > 100
    values = warehouse_strings(demo_dir)
    assert values.height > 1000
    leaks = values.filter(pl.col("value").str.contains_any(identifiers))
    assert leaks.is_empty(), f"raw identifiers in {sorted(set(leaks['origin']))[:5]}"
    pages = pl.Series([page.read_text(errors="replace") for page in (demo_dir / "dashboards").glob("*.*")])
    assert pages.len() >= 5
    assert not pages.str.contains_any(identifiers).any()
