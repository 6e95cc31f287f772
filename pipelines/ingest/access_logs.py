"""Access logs of the ENT's reverse proxy, parsed into accepted lines and rejects with a reason.

The format is NCSA *combined* as nginx writes it by default, or *common* (no referrer, no
user agent); quoted fields nginx may append after the user agent are ignored:

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"

A file is read in chunks of whole lines, each parsed at once (never a Python loop per line):
the everyday line, the one PLAIN_LINE_PATTERN matches, is cut into its fields by a small C
extension (`_log_lines`) that returns them as views of the chunk's bytes; any other line goes
through the full expression, in polars. Paths, referrers, agents and visitors repeat a lot, so
masking and hashing look at each distinct value once. A line is blank (only white space: neither
accepted nor rejected, though it counts in line numbers), accepted, or rejected with the
first of these reasons that applies:

| reason | the line |
|---|---|
| `not UTF-8` | holds bytes that are not UTF-8 text |
| `not a log line` | does not have the fields of the common or combined format |
| `bad address` | has a client address that is neither IPv4 nor IPv6 |
| `bad timestamp` | has a time that is not a real instant like `29/Mar/2020:03:05:00 +0200` |
| `bad request line` | has a request that is not `METHOD target [HTTP/x.y]` |
| `bad status` | has a status that is not a number from 100 to 599 |
| `bad size` | has a size that is neither `-` nor a whole number |

A reject keeps its text as read, except that anything shaped like an IPv4 or IPv6 address
becomes `<ip>`, and when the line starts with three fields and a `[`, the first field
becomes `<ip>` and the third `<user>` (unless it is `-`). Accepted lines keep no address
and no login: the visitor is a keyed hash (pseudonym.py), and address-shaped text in the
path, query, referrer and user agent is masked the same way. `\\x22` (nginx) and `\\"`
escapes in the referrer and user agent are read back as `"`.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ingest.parts import PartWriter
from pipelines.ingest.raw_files import Fingerprint, read_line_chunks
from pipelines.pseudonym import anonymous_keys, user_keys

try:  # built at install when a C compiler is there (pyproject.toml)
    from pipelines.ingest import _log_lines
except ImportError:  # every line goes through the full expression: the same rows, more slowly
    _log_lines = None

REASONS = (
    "not UTF-8",
    "not a log line",
    "bad address",
    "bad timestamp",
    "bad request line",
    "bad status",
    "bad size",
)

# A quoted field: nginx writes `"` inside as `\x22`, Apache as `\"`.
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
# Any line of the common or combined format (quoted fields nginx may append are allowed and ignored).
LINE_PATTERN = (
    r"^([^ ]+) [^ ]+ ([^ ]+) \[([^\]]*)\] " + _QUOTED + r" ([^ ]+) ([^ ]+)"
    r"(?: " + _QUOTED + " " + _QUOTED + r'(?: "(?:[^"\\]|\\.)*")*)?[ \t]*$'
)
LINE_FIELDS = ("remote_addr", "remote_user", "time_local", "request", "status", "size", "referrer", "user_agent")
REQUEST_PATTERN = r"^([A-Z][A-Z_-]*) (.+?)(?: (HTTP/[0-9]+(?:\.[0-9]+)?))?$"
TIME_PATTERN = r"^[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$"
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
# The everyday line: well-formed time, `METHOD target HTTP/x.y`, no quote nor backslash inside a field,
# nothing after the agent. Each field ends at a character its class excludes, so the expression matches one way
# only, and a walk over the line's bytes gives its fields (the C extension _log_lines).
PLAIN_LINE_PATTERN = (
    r'^([^ "\\]+) [^ "\\]+ ([^ "\\]+) \[(' + TIME_PATTERN[1:-1] + r')\] '
    r'"([A-Z][A-Z_-]*) ([^ "\\]+) (HTTP/[0-9]+(?:\.[0-9]+)?)" '
    r'([0-9]{3}) (-|[0-9]{1,18})(?: "([^"\\]*)" "([^"\\]*)")?$'
)
# The fields `_log_lines.cut` gives for an everyday line, in its order, and the size of an Arrow string view.
_CUT_FIELDS = (
    "remote_addr", "remote_user", "time_local", "method", "target", "protocol", "status", "size", "referrer",
    "user_agent",
)  # fmt: skip
_VIEW_BYTES = 16
# A time found anywhere in a rejected line, to give the reject its day when one can be read.
ANY_TIME_PATTERN = r"\[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\]"

_IPV4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_HEX = r"[0-9A-Fa-f]{1,4}"
_IPV6 = (
    rf"(?:{_HEX}:){{7}}{_HEX}"
    rf"|(?:{_HEX}:){{6}}{_IPV4}"
    rf"|(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}:)*{_IPV4}"
    rf"|(?:{_HEX}(?::{_HEX})*)?::{_HEX}(?::{_HEX})*"
    rf"|{_HEX}(?::{_HEX})*::"
)
ADDRESS_PATTERN = rf"^(?:{_IPV4}|{_IPV6})$"
# IPv6 first: its embedded IPv4 form is masked whole.
ADDRESS_ANYWHERE = rf"(?:{_IPV6}|\b{_IPV4}\b)"
IP_MASK = "<ip>"
USER_MASK = "<user>"
# A text column, as an expression or as values.
Text = TypeVar("Text", pl.Expr, pl.Series)
LOG_LINE_START = r"^[^ ]+ [^ ]+ [^ ]+ \["
# Visitors (logins, and (address, agent) pairs) whose keyed hash is kept in memory for the next chunks and files.
KNOWN_VALUES = 100_000
# Chunks of a file parsed at once by a process reading alone: polars releases the GIL, so a
# second chunk keeps another core busy. Worker processes reading files side by side parse one
# each: a second thread there only adds contention (9 % fewer lines per second with two workers).
PARSE_THREADS = 2
# The separator given to the CSV reader that splits lines: a byte no log line should hold.
_NO_SEPARATOR = "\x00"


@dataclass(frozen=True)
class LineCounts:
    """Lines of a log file: physical (blank ones included), accepted and rejected."""

    physical: int = 0
    accepted: int = 0
    rejected: int = 0

    @property
    def read(self) -> int:
        """Lines read in the contract's sense: accepted + rejected (blank lines are neither)."""
        return self.accepted + self.rejected

    def add(self, physical: int, accepted: int, rejected: int) -> LineCounts:
        """These counts plus those of one more chunk."""
        return LineCounts(self.physical + physical, self.accepted + accepted, self.rejected + rejected)


ACCESS_LOG_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("line_number", pa.int64()),
        ("ts_utc", pa.timestamp("us", tz="UTC")),
        ("local_ts", pa.timestamp("us")),
        ("local_day", pa.date32()),
        ("visitor_key", pa.string()),
        ("user_key", pa.string()),
        ("method", pa.string()),
        ("path", pa.string()),
        ("query", pa.string()),
        ("protocol", pa.string()),
        ("status", pa.int16()),
        ("bytes_sent", pa.int64()),
        ("referrer", pa.string()),
        ("user_agent", pa.string()),
    ]
)
# Dictionaries for the columns that repeat (visitors too: a few thousand per chunk of 30,000 lines, and
# dictionary pages are cheaper to compress); instants and line numbers grow steadily, so delta-encode them.
ACCESS_LOG_PARQUET = {
    "use_dictionary": [
        "file_id", "local_day", "visitor_key", "user_key", "method", "path", "query", "protocol", "status", "referrer",
        "user_agent",
    ],
    "column_encoding": {name: "DELTA_BINARY_PACKED" for name in ("line_number", "ts_utc", "local_ts")},
    "write_statistics": ["line_number", "ts_utc", "local_ts", "local_day", "status"],
}
LOG_REJECTS_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("local_day", pa.date32()),
        ("reason", pa.string()),
        ("text", pa.string()),
    ]
)


def split_lines(chunk: bytes, first_line_number: int) -> pl.DataFrame:
    """One row per physical line of a chunk: `line_number`, `text` (no line end), `utf8` (whether valid)."""
    if b"\x00" not in chunk:
        try:
            lines = pl.read_csv(
                io.BytesIO(chunk),
                has_header=False,
                separator=_NO_SEPARATOR,
                quote_char=None,
                new_columns=["text"],
                infer_schema=False,
                empty_string_is_null=False,
            )
            texts, utf8 = lines["text"].fill_null(""), pl.lit(True)
        except pl.exceptions.ComputeError:  # bytes that are not UTF-8: split them the careful way
            texts, utf8 = _split_lines_lossy(chunk)
    else:
        texts, utf8 = _split_lines_lossy(chunk)
    numbers = pl.int_range(first_line_number, first_line_number + len(texts), dtype=pl.Int64)
    # Most logs have no carriage return at all: then the lines need no copy without it.
    text = pl.col("text").str.strip_suffix("\r") if b"\r" in chunk else pl.col("text")
    return pl.DataFrame({"text": texts}).select(numbers.alias("line_number"), text, utf8.alias("utf8"))


def _split_lines_lossy(chunk: bytes) -> tuple[pl.Series, pl.Series]:
    """Lines decoded with U+FFFD for bad bytes, and whether each line was valid UTF-8 as read."""
    decoded = chunk.decode("utf-8", errors="replace")
    texts = pl.from_arrow(pc.list_flatten(pc.split_pattern(pa.array([decoded], pa.large_string()), "\n")))
    raw = pl.from_arrow(pc.list_flatten(pc.split_pattern(pa.array([chunk], pa.large_binary()), b"\n")))
    if chunk.endswith(b"\n"):
        texts, raw = texts.head(-1), raw.head(-1)
    return texts.alias("text"), (texts.cast(pl.Binary) == raw).alias("utf8")


def parse_lines(lines: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Split every non-blank line into fields by the full expression and type them; `reason` is null for a good line.

    The careful path: for the lines that are not everyday ones, and for chunks that are not
    valid UTF-8 (see parse_text for the everyday path).
    """
    others = lines.filter(pl.col("text").str.contains(r"\S"))
    return _typed_fields(_matched_fields(others), timezone)


def parse_text(chunk: bytes, first_line: int, timezone: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The lines of a chunk (as split_lines) and their parsed fields (as parse_lines gives them).

    Everyday lines are cut by the C extension `_log_lines` into views of the chunk (no copy of
    their bytes) and typed as lines PLAIN_LINE_PATTERN proved well formed; the other lines, and
    every line of a chunk that is not valid UTF-8 (or of any chunk, without the extension), go
    through the full expression.
    """
    cut = _log_lines.cut(chunk) if _log_lines is not None else None
    if cut is None:
        lines = split_lines(chunk, first_line)
        return lines, parse_lines(lines, timezone)
    count, line_views, plain_bytes, combined_bytes, field_views = cut
    content = pa.py_buffer(chunk)

    def views(buffer: bytes | pa.Buffer, validity: pa.Buffer | None = None) -> pl.Series:
        return pl.from_arrow(pa.Array.from_buffers(pa.string_view(), count, [validity, pa.py_buffer(buffer), content]))

    lines = pl.DataFrame({"text": views(line_views)}).select(
        pl.int_range(first_line, first_line + count, dtype=pl.Int64).alias("line_number"), "text",
        pl.lit(True).alias("utf8"),
    )  # fmt: skip
    fields = pa.py_buffer(field_views)
    size = count * _VIEW_BYTES
    # Lines of the common format have neither referrer nor agent: null, as the expression leaves them.
    combined = pa.py_buffer(np.packbits(np.frombuffer(combined_bytes, dtype=np.bool_), bitorder="little"))
    cut_fields = pl.DataFrame({
        name: views(fields.slice(index * size, size), combined if name in ("referrer", "user_agent") else None)
        for index, name in enumerate(_CUT_FIELDS)
    })  # fmt: skip
    everyday = lines.hstack(cut_fields)
    plain = np.frombuffer(plain_bytes, dtype=np.bool_)
    if plain.all():
        return lines, _typed_fields(everyday, timezone, plain=True)
    is_plain = pl.Series(plain)
    typed = _typed_fields(everyday.filter(is_plain), timezone, plain=True)
    return lines, pl.concat([typed, parse_lines(lines.filter(~is_plain), timezone)])


def _typed_fields(fields: pl.DataFrame, timezone: str, plain: bool = False) -> pl.DataFrame:
    """Fields typed, with the reason of a bad line; what PLAIN_LINE_PATTERN checked is not checked again."""
    size = pl.col("size")
    well_formed_size = size != "-" if plain else size.str.contains(r"^[0-9]{1,18}$")
    time_local = pl.col("time_local")
    ts_utc = time_local.str.to_datetime(TIME_FORMAT, time_unit="us", strict=False) if plain else _utc_instant(time_local)
    parsed = fields.with_columns(
        ts_utc.alias("ts_utc"),
        pl.col("status").cast(pl.Int16, strict=False).alias("status_code"),
        pl.when(well_formed_size).then(size.cast(pl.Int64, strict=False)).alias("bytes_sent"),
        pl.col("referrer").replace("-", None),
    )
    reason = _plain_reason() if plain else _reason()
    with_reason = parsed.with_columns(reason.alias("reason"), _local_ts(pl.col("ts_utc"), timezone))
    return with_reason.with_columns(pl.col("local_ts").dt.date().alias("local_day"))


def _matched_fields(lines: pl.DataFrame) -> pl.DataFrame:
    """The fields of any other line by LINE_PATTERN and REQUEST_PATTERN; null where they do not match."""
    fields = pl.col("text").str.extract_groups(LINE_PATTERN).struct.rename_fields(list(LINE_FIELDS))
    request_parts = ["method", "target", "protocol"]
    request = pl.col("request").str.extract_groups(REQUEST_PATTERN).struct.rename_fields(request_parts)
    return (
        lines.with_columns(fields.alias("fields"))
        .unnest("fields")
        .with_columns(request.alias("request_parts"), _unescaped(pl.col("referrer")), _unescaped(pl.col("user_agent")))
        .unnest("request_parts")
        .select(
            "line_number", "text", "utf8", "remote_addr", "remote_user", "time_local", "method", "target",
            "protocol", "status", "size", "referrer", "user_agent",
        )
    )  # fmt: skip


def _utc_instant(time_local: pl.Expr) -> pl.Expr:
    """The UTC instant of an nginx `$time_local`, honouring its offset; null when not a real time."""
    well_formed = time_local.str.contains(TIME_PATTERN)
    return pl.when(well_formed).then(time_local.str.to_datetime(TIME_FORMAT, time_unit="us", strict=False))


def _local_ts(ts_utc: pl.Expr, timezone: str) -> pl.Expr:
    """Wall time in the configured zone of a UTC instant."""
    return ts_utc.dt.convert_time_zone(timezone).dt.replace_time_zone(None).alias("local_ts")


def _reason() -> pl.Expr:
    """The first reason in REASONS that applies to a parsed line, null when it is good."""
    status, size = pl.col("status"), pl.col("size")
    return (
        pl.when(~pl.col("utf8")).then(pl.lit("not UTF-8"))
        .when(pl.col("remote_addr").is_null()).then(pl.lit("not a log line"))
        .when(~pl.col("remote_addr").str.contains(ADDRESS_PATTERN)).then(pl.lit("bad address"))
        .when(pl.col("ts_utc").is_null()).then(pl.lit("bad timestamp"))
        .when(pl.col("method").is_null()).then(pl.lit("bad request line"))
        .when(~status.str.contains(r"^[1-5][0-9]{2}$")).then(pl.lit("bad status"))
        .when((size != "-") & pl.col("bytes_sent").is_null()).then(pl.lit("bad size"))
    )  # fmt: skip


def _plain_reason() -> pl.Expr:
    """_reason for a line that matched PLAIN_LINE_PATTERN (so its request, size and time are well formed)."""
    return (
        pl.when(~pl.col("utf8")).then(pl.lit("not UTF-8"))
        .when(~pl.col("remote_addr").str.contains(ADDRESS_PATTERN)).then(pl.lit("bad address"))
        .when(pl.col("ts_utc").is_null()).then(pl.lit("bad timestamp"))
        .when(~pl.col("status_code").is_between(100, 599)).then(pl.lit("bad status"))
    )  # fmt: skip


class VisitorKeys:
    """Keyed hashes of logins and (address, agent) pairs, each distinct value hashed once.

    The chunks of a file, and the files of a run, share most of their visitors, so each chunk
    hashes only those not seen before. Chunks and files parsed in parallel share one instance
    per key (`visitor_keys`); it forgets what it knows past KNOWN_VALUES visitors.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}

    def of(self, identity: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """`user_key` and `visitor_key` of rows with `login` (null without one), `address` and `user_agent`."""
        login, agent = pl.col("login"), pl.col("user_agent").fill_null("")
        # One text per row names its visitor (`login<TAB>x` or `pair<TAB>address<TAB>agent`): one lookup for both.
        visitor = pl.when(login.is_not_null()).then(pl.concat_str([pl.lit("login\t"), login]))
        rows = identity.with_columns(
            visitor.otherwise(pl.concat_str([pl.lit("pair\t"), pl.col("address"), pl.lit("\t"), agent])).alias("visitor")
        )
        known = self._hashed(rows.unique("visitor").drop_nulls("visitor"))
        keys = rows.select("visitor", "login").join(known, on="visitor", how="left", maintain_order="left")
        keys = keys.select(pl.when(login.is_not_null()).then(pl.col("hashed")).alias("user_key"), "hashed")
        return keys["user_key"], keys["hashed"].alias("visitor_key")

    def _hashed(self, distinct: pl.DataFrame) -> pl.DataFrame:
        """`visitor`, `hashed` for the rows of `distinct`, hashing those not yet known."""
        visitors = distinct["visitor"].to_list()
        with self._lock:
            known = self._known
            if len(known) + len(visitors) > KNOWN_VALUES:
                known.clear()
            new = distinct[[index for index, visitor in enumerate(visitors) if visitor not in known]]
            if new.height:
                logins, pairs = new.filter(pl.col("login").is_not_null()), new.filter(pl.col("login").is_null())
                known.update(zip(logins["visitor"].to_list(), user_keys(self.key, logins["login"]).to_list()))
                hashed = anonymous_keys(self.key, pairs["address"], pairs["user_agent"])
                known.update(zip(pairs["visitor"].to_list(), hashed.to_list()))
            hashed = [known[visitor] for visitor in visitors]
        return pl.DataFrame({"visitor": visitors, "hashed": hashed}, schema={"visitor": pl.String, "hashed": pl.String})


_SHARED_VISITOR_KEYS: dict[bytes, VisitorKeys] = {}
_SHARED_LOCK = threading.Lock()


def visitor_keys(key: bytes) -> VisitorKeys:
    """The VisitorKeys of this key shared by every file parsed in this process."""
    with _SHARED_LOCK:
        return _SHARED_VISITOR_KEYS.setdefault(key, VisitorKeys(key))


def accepted_lines(parsed: pl.DataFrame, file_id: str, visitors: VisitorKeys) -> pl.DataFrame:
    """The good lines in the warehouse's access_log columns: visitor hashed, no address nor login kept."""
    good = parsed.filter(pl.col("reason").is_null())
    identity = good.select(
        pl.when(pl.col("remote_user") != "-").then(pl.col("remote_user")).alias("login"),
        pl.when(pl.col("remote_user") == "-").then(pl.col("remote_addr")).alias("address"),
        "user_agent",
    )
    user_key, visitor_key = visitors.of(identity)
    target = pl.col("target").str.splitn("?", 2).struct.rename_fields(["path", "query"])
    lines = good.with_columns(visitor_key, user_key, target.alias("target_parts")).unnest("target_parts")
    return _without_addresses(lines, ["path", "query", "referrer", "user_agent"]).select(
        pl.lit(file_id, dtype=pl.String).alias("file_id"),
        "line_number", "ts_utc", "local_ts", "local_day", "visitor_key", "user_key", "method", "path", "query",
        "protocol", pl.col("status_code").alias("status"), "bytes_sent", "referrer", "user_agent",
    )  # fmt: skip


def _without_addresses(lines: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The lines with address-shaped text masked in these columns."""
    # Paths, referrers and agents repeat a lot: each distinct value is looked at, and masked, once.
    holding = {column: _holding_addresses(lines[column]) for column in columns}
    return lines.with_columns(
        pl.col(column).replace(values, _masked(values))
        for column, values in holding.items()
        if values.len()
    )


def _holding_addresses(values: pl.Series) -> pl.Series:
    """The distinct values of a text column that hold something shaped like an IP address."""
    distinct = values.unique()
    return distinct.filter(distinct.str.contains(ADDRESS_ANYWHERE).fill_null(False))


def _unescaped(field: pl.Expr) -> pl.Expr:
    """A quoted field with the double quotes nginx (`\\x22`) or Apache (`\\"`) escaped read back as `"`."""
    return field.str.replace_all(r"\x22", '"', literal=True).str.replace_all(r"\"", '"', literal=True)


def _masked(field: Text) -> Text:
    """A text (column or values) with anything shaped like an IP address replaced by `<ip>`."""
    return field.str.replace_all(ADDRESS_ANYWHERE, IP_MASK)


def rejected_lines(parsed: pl.DataFrame, file_id: str, source_file: str, timezone: str) -> pl.DataFrame:
    """The bad lines in the warehouse's log_rejects columns, their identifiers masked."""
    bad = parsed.filter(pl.col("reason").is_not_null()).sort("line_number")
    found_time = _utc_instant(pl.col("text").str.extract(ANY_TIME_PATTERN, 1))
    return bad.select(
        pl.lit(file_id, dtype=pl.String).alias("file_id"),
        pl.lit(source_file, dtype=pl.String).alias("source_file"),
        "line_number",
        _local_ts(found_time, timezone).dt.date().alias("local_day"),
        "reason",
        masked_line(pl.col("text")).alias("text"),
    )


def masked_line(text: pl.Expr) -> pl.Expr:
    """A raw log line without identifiers: addresses anywhere, and the first and third fields of a log-like start."""
    fields = text.str.splitn(" ", 4).struct.rename_fields(["address", "identity", "user", "rest"])
    identity, user = (fields.struct.field(name) for name in ("identity", "user"))
    log_like = pl.concat_str(
        [pl.lit(IP_MASK), _user_masked(identity), _user_masked(user), fields.struct.field("rest")], separator=" "
    )
    return _masked(pl.when(text.str.contains(LOG_LINE_START)).then(log_like).otherwise(text))


def _user_masked(field: pl.Expr) -> pl.Expr:
    """An identity field of a log line: `-` stays, anything else becomes `<user>`."""
    return pl.when(field == "-").then(field).otherwise(pl.lit(USER_MASK))


def ingest_log(
    key: bytes, path: Path, source_file: str, content: Fingerprint, timezone: str, staging: Path,
    parse_threads: int = PARSE_THREADS,
) -> LineCounts:
    """Parse a log file chunk by chunk (`parse_threads` at once) into its staged access_log and log_rejects parts.

    Returns the counts.
    """
    counts = LineCounts()
    first_line = 1
    visitors = visitor_keys(key)
    with PartWriter(staging, content.file_id) as parts, ThreadPoolExecutor(parse_threads) as pool:
        parsing: deque[Future[ParsedChunk]] = deque()
        for chunk in read_line_chunks(path, content):
            chunk_args = (chunk, first_line, visitors, content.file_id, source_file, timezone)
            parsing.append(pool.submit(parse_chunk, *chunk_args))
            first_line += physical_lines(chunk)
            if len(parsing) == parse_threads:
                counts = _write_chunk(parts, parsing.popleft().result(), counts)
        while parsing:
            counts = _write_chunk(parts, parsing.popleft().result(), counts)
    return counts


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk of a log file, parsed: its physical line count, accepted lines and rejects."""

    physical: int
    accepted: pl.DataFrame
    rejects: pl.DataFrame


def physical_lines(chunk: bytes) -> int:
    """Lines in a chunk: one per newline, plus an unterminated last line."""
    return chunk.count(b"\n") + (not chunk.endswith(b"\n"))


def parse_chunk(
    chunk: bytes, first_line: int, visitors: VisitorKeys, file_id: str, source_file: str, timezone: str
) -> ParsedChunk:
    """Accepted lines and rejects of one chunk whose first line has number `first_line`."""
    lines, parsed = parse_text(chunk, first_line, timezone)
    if lines.height != physical_lines(chunk):  # line numbers would drift: never let that pass
        raise RuntimeError(f"{source_file}: split {lines.height} lines where there are {physical_lines(chunk)}")
    return ParsedChunk(
        lines.height, accepted_lines(parsed, file_id, visitors), rejected_lines(parsed, file_id, source_file, timezone)
    )


def _write_chunk(parts: PartWriter, chunk: ParsedChunk, counts: LineCounts) -> LineCounts:
    """Append a parsed chunk to the file's parts (accepted lines by local day); returns the running counts."""
    for day, rows in _by_day(chunk.accepted):
        parts.write(f"access_log/day={day.isoformat()}", rows, ACCESS_LOG_SCHEMA, **ACCESS_LOG_PARQUET)
    if chunk.rejects.height:
        parts.write("log_rejects", chunk.rejects, LOG_REJECTS_SCHEMA)
    return counts.add(chunk.physical, chunk.accepted.height, chunk.rejects.height)


def _by_day(accepted: pl.DataFrame) -> list[tuple[dt.date, pl.DataFrame]]:
    """Accepted lines by local day, in order; a chunk of a single day (most are) is not copied."""
    days = accepted["local_day"]
    if days.len() and days.n_unique() == 1:
        return [(days[0], accepted)]
    return [(day, rows) for (day,), rows in accepted.partition_by("local_day", as_dict=True, maintain_order=True).items()]
