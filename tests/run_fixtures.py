"""For the orchestration tests: small real access logs whose counts are known, and the figures a run produced."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

PAGES = ("/", "/espaces/maths-5e/", "/cahier-de-textes/semaine", "/messagerie/")
USERS = ("eleve01", "eleve02", "prof01", "-")


def log_lines(day: dt.date, page_views: int, rejects: int = 0, undated_rejects: int = 0) -> list[str]:
    """Lines of one day: `page_views` page views spread over four visitors, then rejected lines."""
    lines = []
    for number in range(page_views):
        user = USERS[number % len(USERS)]
        seconds = (7 * 60 * number) % (14 * 3600) + number % 60  # all within 08:00-22:00
        moment = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=seconds)
        stamp = moment.strftime("%d/%b/%Y:%H:%M:%S +0100")
        lines.append(
            f'10.1.{number % 7}.{number % len(USERS)} - {user} [{stamp}] "GET {PAGES[number % len(PAGES)]} HTTP/1.1" '
            f'200 {512 + number} "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/74.0"'
        )
    stamp = dt.datetime.combine(day, dt.time(23, 59)).strftime("%d/%b/%Y:%H:%M:%S +0100")
    lines += [f'10.9.9.9 - - [{stamp}] "GET /index HTTP/1.1" abc 12 "-" "curl/7.68"' for _ in range(rejects)]
    lines += ["\x16\x03\x01 not a log line" for _ in range(undated_rejects)]
    return lines


def write_log(logs_dir: Path, day: dt.date, page_views: int, rejects: int = 0, undated_rejects: int = 0) -> Path:
    """A rotated, gzipped log of one day, named like `access.log-20200324.gz`."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / f"access.log-{day:%Y%m%d}.gz"
    with gzip.open(path, "wt", encoding="utf-8") as log:
        log.write("\n".join(log_lines(day, page_views, rejects, undated_rejects)) + "\n")
    return path


def write_directory(raw_dir: Path) -> Path:
    """A directory export naming the logins of the logs."""
    path = raw_dir / "directory" / "annuaire.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("user_id;profile;uai\neleve01;eleve;0920001A\neleve02;eleve;0920002B\nprof01;enseignant;0920001A\n")
    return path


def write_department(raw_dir: Path, days: tuple[dt.date, ...], page_views: int = 12) -> None:
    """A small department: one log per day (with 2 dated and 1 undated rejected lines) and its directory."""
    for day in days:
        write_log(raw_dir / "logs", day, page_views, rejects=2, undated_rejects=1)
    write_directory(raw_dir)


def warehouse_figures(data_dir: Path) -> dict[str, list[tuple]]:
    """What a run produced: the ledger's counts per file, and every row of every mart."""
    import duckdb
    import polars as pl

    ledger = pl.read_parquet(data_dir / "warehouse" / "ledger.parquet")
    counts = ledger.select("path", "file_id", "status", "lines_read", "lines_accepted", "lines_rejected")
    figures = {"ledger": sorted(counts.rows())}
    with duckdb.connect(str(data_dir / "warehouse" / "ent.duckdb"), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'marts'")
        marts = [name for (name,) in tables.fetchall()]
        for mart in sorted(marts):
            figures[mart] = sorted(con.execute(f"select * from marts.{mart}").fetchall(), key=repr)
    return figures
