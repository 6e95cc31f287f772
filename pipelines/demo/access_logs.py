"""The reverse proxy's access logs: one day at a time, in nginx combined format, rotated daily like logrotate.

`access.log-20200303.gz` holds the lines of 2 March (rotation at local midnight, dateext); the
newest rotated file is still plain (delaycompress). Requests that run past midnight are carried
into the next day's file. A day's lines are formatted a chunk at a time and a background thread
compresses each chunk while the next is formatted: memory holds one day's requests (as numbers)
and two chunks of lines.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa

from pipelines.demo import clients, paths, truth
from pipelines.demo.days import FIRST_DAY, LAST_DAY, day_index, demo_days, local_midnight_utc, offset_text, utc_offsets
from pipelines.demo.population import Population
from pipelines.demo.setpieces import set_pieces
from pipelines.demo.traffic import (
    METHODS,
    SEARCH_REFERER,
    DayPlan,
    Events,
    account_visits,
    anonymous_visits,
    api_calls,
    concat_events,
    events,
    form_posts,
    login_forms,
    merge_visits,
    other_clients,
    page_assets,
    page_requests,
    plan_day,
)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CLOCK = pl.Series([f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}" for second in range(86_400)])
GZIP_LEVEL = 1
# Lines formatted and written at a time.
LINES_PER_WRITE = 250_000
# The rotated file copied under another name (same bytes): ingestion must skip it.
DUPLICATED_DAY = dt.date(2020, 3, 17)
DEVICE_AGENTS = {"tablette": "Kiosque", "ultraportable": "Edg/", "pc_recycle": "Ubuntu"}


@dataclass(frozen=True)
class LogOutcome:
    """What the log writer wrote: its files (the duplicate apart), line counts, and each day's usage truth."""

    files: tuple[str, ...]
    duplicate: str
    lines_read: int
    lines_rejected: int
    usage: tuple[truth.DayUsage, ...]


def log_file_name(day: dt.date) -> str:
    """The rotated file holding a day's lines: named after the rotation day, compressed but for the newest."""
    name = f"access.log-{day + dt.timedelta(days=1):%Y%m%d}"
    return name if day == LAST_DAY else name + ".gz"


def log_files() -> tuple[list[str], str]:
    """Paths (relative to raw/) of the daily log files, and of the duplicate."""
    duplicate = "logs/copie-" + log_file_name(DUPLICATED_DAY)
    return [f"logs/{log_file_name(day)}" for day in demo_days()], duplicate


def lent_devices(population: Population, loans: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per account, the demo day its first lent or given device arrived (far away: never) and that device's browser."""
    since = np.full(population.users.height, 1 << 30, dtype=np.int64)
    agent = np.zeros(population.users.height, dtype=np.int16)
    first = loans.sort("start_date").unique("user", keep="first", maintain_order=True)
    users = first["user"].to_numpy()
    since[users] = (first["start_date"] - FIRST_DAY).dt.total_days().to_numpy()
    browsers = {kind: clients.agent_named(fragment) for kind, fragment in DEVICE_AGENTS.items()}
    agent[users] = first["device_type"].replace_strict(browsers, return_dtype=pl.Int16).to_numpy()
    return since, agent


def day_requests(population: Population, plan: DayPlan, directory_profile: np.ndarray,
                 rng: np.random.Generator) -> Events:
    """Every request drawn for one day (some run past midnight)."""
    visits = merge_visits([account_visits(population, plan, rng), anonymous_visits(population, plan, rng)])
    pages = page_requests(population, plan, visits, rng)
    return concat_events([pages.events, login_forms(visits, rng), page_assets(pages, rng), api_calls(pages, rng),
                          form_posts(pages, rng), other_clients(population, plan, rng),
                          set_pieces(population, directory_profile, plan.day)])


def split_at_midnight(requests: Events, day: dt.date) -> tuple[Events, Events]:
    """A day's requests in time order, and those of the next day (carried over); anything later is dropped."""
    next_midnight = local_midnight_utc(day + dt.timedelta(days=1))
    after_next = local_midnight_utc(day + dt.timedelta(days=2))
    ts = requests["ts"]
    today = ts < next_midnight
    order = np.flatnonzero(today)[np.argsort(ts[today], kind="stable")]
    carried = (ts >= next_midnight) & (ts < after_next) & (day < LAST_DAY)
    return ({name: values[order] for name, values in requests.items()},
            {name: values[carried] for name, values in requests.items()})


def format_lines(requests: Events, population: Population, day: dt.date) -> pl.Series:
    """The day's requests as nginx combined lines (vectorised), $time_local with the offset of each instant."""
    ts = requests["ts"]
    offsets = utc_offsets(ts, day)
    naive_midnight = int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp())
    offset_names = {int(value): offset_text(int(value)) for value in np.unique(offsets)}
    referer_path = paths.paths(pl.Series(np.maximum(requests["ref_template"], 0)), pl.Series(requests["ref_variable"]),
                               population.spaces["space_id"])
    ref = pl.Series(requests["ref_template"])
    frame = pl.DataFrame({
        "ip": population.addresses.gather(requests["ip"]),
        "user": pl.select(pl.when(pl.lit(pl.Series(requests["user"] >= 0)))
                          .then(pl.lit(population.users["login"].gather(np.maximum(requests["user"], 0))))
                          .otherwise(pl.lit("-"))).to_series(),
        "clock": CLOCK.gather(ts + offsets - naive_midnight),
        "offset": pl.Series(offsets).replace_strict(offset_names, return_dtype=pl.String),
        "method": pl.Series(METHODS).gather(requests["method"]),
        "path": paths.paths(pl.Series(requests["template"]), pl.Series(requests["variable"]),
                            population.spaces["space_id"]),
        "protocol": population.agents["protocol"].gather(requests["agent"]),
        "status": pl.Series(requests["status"]).cast(pl.String),
        "size": pl.Series(requests["size"]),
        "referer": pl.select(pl.when(pl.lit(ref) >= 0).then(pl.lit(paths.HOST) + pl.lit(referer_path))
                             .when(pl.lit(ref) == SEARCH_REFERER).then(pl.lit("https://www.google.fr/"))
                             .otherwise(pl.lit("-"))).to_series(),
        "agent": population.agents["user_agent"].gather(requests["agent"]),
    })
    stamp = f"{day.day:02d}/{MONTHS[day.month - 1]}/{day.year}:"
    size = pl.when(pl.col("size") < 0).then(pl.lit("-")).otherwise(pl.col("size").cast(pl.String))
    return frame.select(pl.concat_str(
        "ip", pl.lit(" - "), "user", pl.lit(f" [{stamp}"), "clock", pl.lit(" "), "offset", pl.lit('] "'), "method",
        pl.lit(" "), "path", pl.lit(" "), "protocol", pl.lit('" '), "status", pl.lit(" "), size, pl.lit(' "'),
        "referer", pl.lit('" "'), "agent", pl.lit('"'))).to_series()


def malformed_lines(samples: pl.Series, line_count: int, day: dt.date, rng: np.random.Generator) -> list[str]:
    """Lines no parser can read, as real logs have: cut short, a bad date or hour, an error-log line, a blank.

    They are made from sample lines of the day. A few are on fixed days, so every kind is present at
    any scale; cut lines also come at random (about one in 100,000).
    """
    def some_line() -> str:
        """One of the sample lines."""
        return samples[int(rng.integers(0, len(samples)))]

    def cut(text: str) -> str:
        """A line cut short inside its request, as when the disk filled up."""
        return text[: text.index('"') + int(rng.integers(3, 12))]

    made = [cut(some_line()) for _ in range(rng.poisson(line_count * 1e-5))]
    stamp = f"[{day.day:02d}/{MONTHS[day.month - 1]}/{day.year}:"
    fixed = {
        dt.date(2020, 3, 5): lambda: [cut(some_line())],
        dt.date(2020, 3, 12): lambda: [some_line().replace(stamp, f"[32/{MONTHS[day.month - 1]}/{day.year}:", 1)],
        dt.date(2020, 3, 16): lambda: [error_log_line(day, some_line().split(" ", 1)[0])],
        dt.date(2020, 3, 20): lambda: [""],
        dt.date(2020, 4, 1): lambda: [_bad_hour(some_line(), stamp)],
        dt.date(2020, 4, 6): lambda: [cut(some_line())],
    }
    return made + (fixed[day]() if day in fixed else [])


def error_log_line(day: dt.date, client: str) -> str:
    """A line of nginx's error log, written to the access log by mistake."""
    return (f"{day:%Y/%m/%d} 09:12:44 [error] 1187#1187: *56781 upstream timed out (110: Connection timed out) "
            f"while reading response header from upstream, client: {client}, server: enc.hauts-de-seine.fr")


def _bad_hour(text: str, stamp: str) -> str:
    """A line whose hour reads 25."""
    at = text.index(stamp) + len(stamp)
    return text[:at] + "25" + text[at + 2:]


def with_lines_inserted(lines: pl.Series, places: np.ndarray, texts: list[str]) -> pl.Series:
    """Lines with extra ones inserted before the given (sorted) positions."""
    pieces, previous = [], 0
    for place, text in zip(places.tolist(), texts):
        pieces += [lines.slice(previous, place - previous), pl.Series([text], dtype=pl.String)]
        previous = place
    return pl.concat([*pieces, lines.slice(previous)])


def text_bytes(lines: pl.Series) -> memoryview:
    """Lines (each ending with a newline) as one contiguous UTF-8 buffer, without a copy through Python strings."""
    array = lines.to_arrow().cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return memoryview(array.buffers()[2])[offsets[array.offset]: offsets[array.offset + len(array)]]


class BackgroundWriter:
    """Writes log files in one background thread, in order, while the next lines are drawn and formatted.

    At most one chunk of lines waits for the thread: memory holds about two chunks whatever the scale.
    """

    def __init__(self) -> None:
        """Start the writing thread."""
        self._thread = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def submit(self, work: Callable[..., object], *arguments: object) -> None:
        """Queue some writing after what is queued already (waiting for the previous piece first)."""
        self.wait()
        self._pending = self._thread.submit(work, *arguments)

    def wait(self) -> None:
        """Wait for the queued writing to be done (raising its error, if any)."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        """Finish the writing and stop the thread."""
        try:
            self.wait()
        finally:
            self._thread.shutdown()


def open_log_file(path: Path, compress: bool) -> tuple[BinaryIO, BinaryIO]:
    """The file and the handle to write its lines to: gzip level 1 with no name nor time (same bytes every run)."""
    raw = open(path, "wb")
    handle = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) if compress else raw
    return raw, handle


def append_lines(handle: BinaryIO, lines: pl.Series) -> None:
    """Append lines, each with its newline."""
    handle.write(text_bytes(lines + "\n"))


def close_log_file(raw: BinaryIO, handle: BinaryIO) -> None:
    """Close the gzip stream, then the file."""
    if handle is not raw:
        handle.close()
    raw.close()


def write_day(writer: BackgroundWriter, path: Path, requests: Events, population: Population, day: dt.date,
              rng: np.random.Generator) -> tuple[int, int]:
    """Format and write one day's file chunk by chunk, malformed lines slipped in; returns lines read and rejected."""
    count = len(requests["ts"])
    sampled = rng.integers(0, count, 16)
    samples = format_lines({name: values[sampled] for name, values in requests.items()}, population, day)
    extra = malformed_lines(samples, count, day, rng)
    places = np.sort(rng.integers(0, count + 1, len(extra)))
    raw, handle = open_log_file(path, compress=day != LAST_DAY)
    for start in range(0, count, LINES_PER_WRITE):
        stop = min(start + LINES_PER_WRITE, count)
        lines = format_lines({name: values[start:stop] for name, values in requests.items()}, population, day)
        here = np.flatnonzero((places >= start) & ((places < stop) | (stop == count)))
        writer.submit(append_lines, handle, with_lines_inserted(lines, places[here] - start, [extra[i] for i in here]))
    writer.submit(close_log_file, raw, handle)
    blank = sum(text == "" for text in extra)
    return count + len(extra) - blank, len(extra) - blank


def write_access_logs(raw_dir: Path, population: Population, directory_profile: np.ndarray, loans: pl.DataFrame,
                      factor: float, seed: int) -> LogOutcome:
    """Draw and write every day's log file, then the duplicate; returns the counts and the daily truth."""
    device_since, device_agent = lent_devices(population, loans)
    (raw_dir / "logs").mkdir(parents=True, exist_ok=True)
    carried, usage, read, rejected = events(0), [], 0, 0
    writer = BackgroundWriter()
    try:
        for day in demo_days():
            rng = np.random.default_rng([seed, 20, day_index(day)])
            plan = plan_day(day, factor, device_since, device_agent)
            drawn = day_requests(population, plan, directory_profile, rng)
            today, carried = split_at_midnight(concat_events([carried, drawn]), day)
            usage.append(truth.day_usage(day, today, directory_profile, population))
            lines, malformed = write_day(writer, raw_dir / "logs" / log_file_name(day), today, population, day, rng)
            read, rejected = read + lines, rejected + malformed
    finally:
        writer.close()
    files, duplicate = log_files()
    shutil.copyfile(raw_dir / "logs" / log_file_name(DUPLICATED_DAY), raw_dir / duplicate)
    return LogOutcome(tuple(files), duplicate, read, rejected, tuple(usage))
