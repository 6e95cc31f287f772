"""Speed and memory of access-log ingestion: N generated combined-format lines, or a raw folder's logs.

    .venv/bin/python benchmarks/ingest_logs.py [--lines 2000000] [--gzip] [--keep DIR]
    .venv/bin/python benchmarks/ingest_logs.py --raw /tmp/bench-5m/raw [--files-at-once 2]

Prints lines per second and CPU microseconds per line of ingestion (generation excluded) and
the peak resident memory of the process. The lines are made vectorised with polars:
logged-in and anonymous visitors, IPv4 and IPv6 clients, sizes `-`, a few malformed lines,
times spread over three weeks. With `--raw`, the log files of an existing raw folder (the demo
generator's, say) are linked into a temporary data folder instead, and `--files-at-once 2`
ingests two files at a time in worker processes, as a run does.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines.ingest import FileResult, ingest_raw
from pipelines.settings import Settings

PATHS = ["/", "/espaces/maths-4b/", "/cahier-de-textes", "/messagerie?folder=inbox", "/static/app.js", "/api/notifs"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0",
    "Mozilla/5.0 (iPad; CPU OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36",
]
# nginx escapes a double quote inside the agent as \x22: rare, and parsed by the slower path.
ESCAPED_AGENT = "Mozilla/5.0 (Linux; Android 9) \\x22ENT\\x22 Mobile"
START = "2020-03-16 06:00:00"
SPAN_SECONDS = 21 * 24 * 3600
GENERATED_AT_ONCE = 200_000


def _pick(choices: list[str], seed: int) -> pl.Expr:
    """A pseudo-random choice among `choices` for each row, from a hash of the row index."""
    return pl.lit(pl.Series(choices)).gather(pl.col("i").hash(seed) % len(choices))


def generate_lines(start: int, count: int, total: int) -> pl.Series:
    """Lines `start` to `start + count` of a `total`-line log in nginx's combined format.

    About 1 line in 2,000 is malformed and 1 in 500 has an agent with an escaped quote.
    """
    rows = pl.DataFrame({"i": pl.int_range(start, start + count, eager=True)})
    client = pl.col("i").hash(1) % 60_000
    address = (
        pl.when(client % 10 == 0)
        .then(pl.format("2a01:e0a:{}::{}", client % 4096, client % 251))
        .otherwise(pl.format("10.{}.{}.{}", client // 65536 % 256, client // 256 % 256, client % 256))
    )
    login = pl.when(client % 3 == 0).then(pl.lit("-")).otherwise(pl.format("user{}", client))
    offset = (pl.col("i") * SPAN_SECONDS // total).cast(pl.Int64)
    instant = pl.lit(START).str.to_datetime(time_zone="Europe/Paris") + pl.duration(seconds=offset)
    time_local = instant.dt.strftime("%d/%b/%Y:%H:%M:%S %z")
    size = (
        pl.when(pl.col("i").hash(5) % 20 == 0)
        .then(pl.lit("-"))
        .otherwise((pl.col("i").hash(6) % 90_000).cast(pl.String))
    )
    agent = pl.when(pl.col("i").hash(9) % 500 == 0).then(pl.lit(ESCAPED_AGENT)).otherwise(_pick(AGENTS, 7))
    line = pl.format(
        '{} - {} [{}] "GET {} HTTP/1.1" {} {} "https://ent.example.fr/" "{}"',
        address,
        login,
        time_local,
        _pick(PATHS, 3),
        _pick(["200", "200", "304", "302", "404"], 4),
        size,
        agent,
    )
    malformed = pl.col("i").hash(8) % 2000 == 0
    return rows.select(pl.when(malformed).then(pl.lit("garbage line -- not a log")).otherwise(line).alias("line"))[
        "line"
    ]


def write_log(total: int, path: Path, compress: bool) -> None:
    """Write a generated log of `total` lines, gzip-compressed or plain, a slice at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) if compress else open(path, "wb") as handle:
        for start in range(0, total, GENERATED_AT_ONCE):
            lines = generate_lines(start, min(GENERATED_AT_ONCE, total - start), total)
            handle.write(("\n".join(lines.to_list()) + "\n").encode())


def cpu_seconds() -> float:
    """User and system CPU time so far of this process (all threads) and of its finished worker processes."""
    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


def peak_rss_mib() -> float:
    """Peak resident memory so far of this process or of its largest worker process, in MiB (Linux reports KiB)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def link_logs(raw_dir: Path, data_dir: Path) -> None:
    """Link every log file of an existing raw folder into the data folder's raw/logs/."""
    logs = data_dir / "raw" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for path in sorted((raw_dir / "logs").iterdir()):
        if path.is_file():
            os.symlink(path.resolve(), logs / path.name)


def ingest_logs(settings: Settings, files_at_once: int) -> list[FileResult]:
    """Ingest every new log file, this many at a time in worker processes (one: in this process), then record them."""
    return ingest_raw(settings, processes=files_at_once if files_at_once > 1 else 0).files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--gzip", action="store_true", help="write the log gzip-compressed")
    parser.add_argument("--raw", type=Path, help="ingest the log files of this raw folder instead of generating one")
    parser.add_argument("--files-at-once", type=int, default=1, help="files ingested at a time, in worker processes")
    parser.add_argument("--keep", type=Path, help="data folder to use and keep (default: a temporary one)")
    args = parser.parse_args(argv)
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="ent-bench-"))
    try:
        if args.raw:
            link_logs(args.raw, data_dir)
        else:
            name = "access.log.gz" if args.gzip else "access.log"
            write_log(args.lines, data_dir / "raw" / "logs" / name, args.gzip)
        memory_before = peak_rss_mib()
        started, cpu_started = time.perf_counter(), cpu_seconds()
        results = ingest_logs(Settings(data_dir=data_dir, pseudonym_key="benchmark"), args.files_at_once)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        read = sum(result.lines_read for result in results if result.status == "ingested")
        accepted = sum(result.lines_accepted for result in results if result.status == "ingested")
        print(f"files           {len(results):>12,}  ({args.files_at_once} at a time)")
        print(f"lines read      {read:>12,}  (accepted {accepted:,}, rejected {read - accepted:,})")
        print(f"seconds         {seconds:>12.2f}  (CPU seconds, all threads: {cpu:.2f})")
        print(f"lines/s         {read / seconds:>12,.0f}  (CPU microseconds per line: {cpu / read * 1e6:.2f})")
        print(f"peak RSS (MiB)  {peak_rss_mib():>12,.0f}  (before ingesting: {memory_before:,.0f})")
    finally:
        if args.keep is None:
            shutil.rmtree(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
