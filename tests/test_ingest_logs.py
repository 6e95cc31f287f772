"""Access logs: one test per rule of the contract's access-log section, each asserting the figures it gives."""

from __future__ import annotations

import builtins
import datetime as dt
import gzip
import re
from pathlib import Path

import polars as pl
import pytest

from ingest_fixtures import KEY, settings_for, table, warehouse_files, write_raw
from pipelines.errors import UserError
from pipelines.ingest import access_logs, ingest_raw, raw_files, read_ledger
from pipelines.pseudonym import anonymous_keys, user_keys
from pipelines.settings import Settings

FIXTURE_LOG = Path(__file__).parent / "fixtures" / "hackers-access.log"
COMBINED = (
    '192.0.2.10 - jdupont [16/Mar/2020:08:15:02 +0100] "GET /espaces/maths-4b/cours?week=12&page=2 HTTP/1.1" '
    '200 5120 "https://ent.example.fr/accueil" '
    '"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0"'
)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def ingest_lines(tmp_path: Path, lines: list[str] | bytes, name: str = "logs/access.log") -> Settings:
    """Ingest one log file made of these lines into a fresh data folder."""
    settings = settings_for(tmp_path)
    write_raw(settings, name, lines)
    report = ingest_raw(settings)
    assert report.problems == []
    return settings


def accepted(settings: Settings) -> list[dict]:
    return table(settings, "access_log").drop("file_id").to_dicts()


def rejects(settings: Settings) -> list[tuple[int, dt.date | None, str, str]]:
    frame = table(settings, "log_rejects")
    return list(frame.select("line_number", "local_day", "reason", "text").iter_rows()) if frame.height else []


def user_key(login: str) -> str:
    return user_keys(KEY.encode(), pl.Series([login]))[0]


def anonymous_key(address: str, agent: str | None) -> str:
    return anonymous_keys(KEY.encode(), pl.Series([address]), pl.Series([agent], dtype=pl.String))[0]


def test_combined_line_is_split_into_typed_fields_with_a_hashed_login(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, [COMBINED])
    assert accepted(settings) == [
        {
            "line_number": 1,
            "ts_utc": utc(2020, 3, 16, 7, 15, 2),
            "local_ts": dt.datetime(2020, 3, 16, 8, 15, 2),
            "local_day": dt.date(2020, 3, 16),
            "visitor_key": user_key("jdupont"),
            "user_key": user_key("jdupont"),
            "method": "GET",
            "path": "/espaces/maths-4b/cours",
            "query": "week=12&page=2",
            "protocol": "HTTP/1.1",
            "status": 200,
            "bytes_sent": 5120,
            "referrer": "https://ent.example.fr/accueil",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0",
        }
    ]


def test_warehouse_columns_and_types_are_those_of_the_architecture(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, [COMBINED, "not a log line"])
    assert table(settings, "access_log").schema == pl.Schema(
        {
            "file_id": pl.String, "line_number": pl.Int64, "ts_utc": pl.Datetime("us", "UTC"),
            "local_ts": pl.Datetime("us"), "local_day": pl.Date, "visitor_key": pl.String, "user_key": pl.String,
            "method": pl.String, "path": pl.String, "query": pl.String, "protocol": pl.String, "status": pl.Int16,
            "bytes_sent": pl.Int64, "referrer": pl.String, "user_agent": pl.String,
        }
    )  # fmt: skip
    assert table(settings, "log_rejects").schema == pl.Schema(
        {
            "file_id": pl.String, "source_file": pl.String, "line_number": pl.Int64, "local_day": pl.Date,
            "reason": pl.String, "text": pl.String,
        }
    )  # fmt: skip


def test_common_format_line_has_no_referrer_nor_user_agent(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, ['192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "POST /login HTTP/1.0" 302 0'])
    [line] = accepted(settings)
    assert (line["method"], line["path"], line["query"], line["protocol"], line["status"]) == (
        "POST",
        "/login",
        None,
        "HTTP/1.0",
        302,
    )
    assert (line["bytes_sent"], line["referrer"], line["user_agent"], line["user_key"]) == (0, None, None, None)
    assert line["visitor_key"] == anonymous_key("192.0.2.10", None)


def test_ipv6_client_without_login_is_the_hashed_address_and_agent_pair(tmp_path: Path) -> None:
    lines = [
        '2001:db8:85a3::8a2e:370:7334 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/2.0" 200 612 "-" "curl/7.68.0"',
        '::ffff:198.51.100.23 - - [16/Mar/2020:08:15:03 +0100] "GET / HTTP/2.0" 200 612 "-" "curl/7.68.0"',
    ]
    settings = ingest_lines(tmp_path, lines)
    assert [(row["visitor_key"], row["user_key"], row["protocol"]) for row in accepted(settings)] == [
        (anonymous_key("2001:db8:85a3::8a2e:370:7334", "curl/7.68.0"), None, "HTTP/2.0"),
        (anonymous_key("::ffff:198.51.100.23", "curl/7.68.0"), None, "HTTP/2.0"),
    ]


def test_dash_size_is_a_null_byte_count(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, ['192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 304 - "-" "-"'])
    [line] = accepted(settings)
    assert (line["status"], line["bytes_sent"], line["referrer"]) == (304, None, None)


def test_escaped_quotes_in_user_agent_are_read_back_as_quotes(tmp_path: Path) -> None:
    lines = [
        r'192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 \x22ENT\x22 app"',
        r'192.0.2.11 - - [16/Mar/2020:08:15:03 +0100] "GET / HTTP/1.1" 200 5 "-" "Apache \"escaped\" agent"',
    ]
    settings = ingest_lines(tmp_path, lines)
    assert [row["user_agent"] for row in accepted(settings)] == ['Mozilla/5.0 "ENT" app', 'Apache "escaped" agent']
    assert accepted(settings)[0]["visitor_key"] == anonymous_key("192.0.2.10", 'Mozilla/5.0 "ENT" app')


def test_time_offsets_are_honoured_across_the_spring_daylight_saving_change(tmp_path: Path) -> None:
    lines = [
        '192.0.2.10 - - [28/Mar/2020:23:59:59 +0100] "GET /a HTTP/1.1" 200 1 "-" "-"',
        '192.0.2.10 - - [29/Mar/2020:01:59:59 +0100] "GET /b HTTP/1.1" 200 1 "-" "-"',
        '192.0.2.10 - - [29/Mar/2020:03:00:00 +0200] "GET /c HTTP/1.1" 200 1 "-" "-"',
        # A server that logs in UTC: its 23:30 is already the 29th in Paris.
        '192.0.2.10 - - [28/Mar/2020:23:30:00 +0000] "GET /d HTTP/1.1" 200 1 "-" "-"',
    ]
    settings = ingest_lines(tmp_path, lines)
    assert [(row["path"], row["ts_utc"], row["local_ts"], row["local_day"]) for row in accepted(settings)] == [
        ("/a", utc(2020, 3, 28, 22, 59, 59), dt.datetime(2020, 3, 28, 23, 59, 59), dt.date(2020, 3, 28)),
        ("/b", utc(2020, 3, 29, 0, 59, 59), dt.datetime(2020, 3, 29, 1, 59, 59), dt.date(2020, 3, 29)),
        ("/c", utc(2020, 3, 29, 1, 0, 0), dt.datetime(2020, 3, 29, 3, 0, 0), dt.date(2020, 3, 29)),
        ("/d", utc(2020, 3, 28, 23, 30, 0), dt.datetime(2020, 3, 29, 0, 30, 0), dt.date(2020, 3, 29)),
    ]


def test_the_repeated_autumn_hour_gives_two_instants(tmp_path: Path) -> None:
    lines = [
        '192.0.2.10 - - [25/Oct/2020:02:30:00 +0200] "GET /first HTTP/1.1" 200 1 "-" "-"',
        '192.0.2.10 - - [25/Oct/2020:02:30:00 +0100] "GET /second HTTP/1.1" 200 1 "-" "-"',
    ]
    settings = ingest_lines(tmp_path, lines)
    assert [(row["ts_utc"], row["local_ts"]) for row in accepted(settings)] == [
        (utc(2020, 10, 25, 0, 30), dt.datetime(2020, 10, 25, 2, 30)),
        (utc(2020, 10, 25, 1, 30), dt.datetime(2020, 10, 25, 2, 30)),
    ]


def test_days_follow_the_configured_time_zone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=KEY, timezone="America/Cayenne")
    write_raw(settings, "logs/access.log", ['192.0.2.10 - - [16/Mar/2020:01:00:00 +0100] "GET / HTTP/1.1" 200 1'])
    ingest_raw(settings)
    [line] = accepted(settings)
    assert (line["local_ts"], line["local_day"]) == (dt.datetime(2020, 3, 15, 21, 0), dt.date(2020, 3, 15))


MALFORMED = {
    "not a log line": ("this is no log line", None),
    "truncated line": ('192.0.2.10 - jdupont [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200', dt.date(2020, 3, 16)),
    "bad address": (
        'gateway.local - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "-"',
        dt.date(2020, 3, 16),
    ),
    "bad timestamp": ('192.0.2.10 - - [31/Feb/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "-"', None),
    "bad request line": (
        r'192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "\x16\x03\x01\x02" 400 157 "-" "-"',
        dt.date(2020, 3, 16),
    ),
    "bad status": ('192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 2OO 5 "-" "-"', dt.date(2020, 3, 16)),
    "bad size": ('192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 -5 "-" "-"', dt.date(2020, 3, 16)),
    "status above 599": (
        '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 600 5 "-" "-"',
        dt.date(2020, 3, 16),
    ),
    "status below 100": (
        '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 099 5 "-" "-"',
        dt.date(2020, 3, 16),
    ),
    "empty identity field": (
        '192.0.2.10  - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "-"',
        dt.date(2020, 3, 16),
    ),
}
EXPECTED_REASON = {
    "truncated line": "not a log line",
    "status above 599": "bad status",
    "status below 100": "bad status",
    "empty identity field": "not a log line",
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_line_is_rejected_with_its_reason_and_the_rest_kept(tmp_path: Path, case: str) -> None:
    line, local_day = MALFORMED[case]
    settings = ingest_lines(tmp_path, [COMBINED, line, COMBINED])
    assert [row["line_number"] for row in accepted(settings)] == [1, 3]
    [(line_number, day, reason, _text)] = rejects(settings)
    assert (line_number, day, reason) == (2, local_day, EXPECTED_REASON.get(case, case))
    assert reason in access_logs.REASONS
    [entry] = read_ledger(settings).to_dicts()
    assert (entry["lines_read"], entry["lines_accepted"], entry["lines_rejected"]) == (3, 2, 1)


def test_line_that_is_not_utf8_is_rejected_with_its_reason(tmp_path: Path) -> None:
    latin1 = '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET /caf\xe9 HTTP/1.1" 200 5 "-" "-"'.encode("latin-1")
    settings = ingest_lines(tmp_path, (COMBINED + "\n").encode() + latin1 + b"\n" + (COMBINED + "\n").encode())
    assert [row["line_number"] for row in accepted(settings)] == [1, 3]
    [(line_number, day, reason, text)] = rejects(settings)
    assert (line_number, day, reason) == (2, dt.date(2020, 3, 16), "not UTF-8")
    assert text == '<ip> - - [16/Mar/2020:08:15:02 +0100] "GET /caf\ufffd HTTP/1.1" 200 5 "-" "-"'


def test_reject_text_masks_addresses_and_the_user_field(tmp_path: Path) -> None:
    lines = [
        '192.0.2.10 - jdupont [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 2OO 5 "http://198.51.100.23/x" "-"',
        "2001:db8::7 - marie.curie [16/Mar/2020:08:15:02 +0100] truncated",
        "client 203.0.113.9 and fe80::1ff:fe23:4567:890a said hello",
    ]
    settings = ingest_lines(tmp_path, lines)
    assert [text for _, _, _, text in rejects(settings)] == [
        '<ip> - <user> [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 2OO 5 "http://<ip>/x" "-"',
        "<ip> - <user> [16/Mar/2020:08:15:02 +0100] truncated",
        "client <ip> and <ip> said hello",
    ]


def test_addresses_inside_urls_and_agents_of_accepted_lines_are_masked(tmp_path: Path) -> None:
    line = (
        '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET /proxy/10.1.2.3/status?from=2001:db8::1 HTTP/1.1" 200 5 '
        '"http://198.51.100.23/portail" "probe from 203.0.113.9"'
    )
    settings = ingest_lines(tmp_path, [line, COMBINED])
    first, second = accepted(settings)
    assert (first["path"], first["query"]) == ("/proxy/<ip>/status", "from=<ip>")
    assert (first["referrer"], first["user_agent"]) == ("http://<ip>/portail", "probe from <ip>")
    assert second["user_agent"].endswith("Firefox/74.0")


def test_an_agent_with_an_address_shaped_version_is_masked_on_every_line_that_has_it(tmp_path: Path) -> None:
    edge = "Mozilla/5.0 (Windows NT 10.0) Chrome/80.0.3987.149 Safari/537.36 Edg/80.0.361.69"
    lines = [COMBINED.replace("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0", edge)]
    settings = ingest_lines(tmp_path, [lines[0], COMBINED, lines[0].replace("08:15:02", "08:20:00")])
    agents = [row["user_agent"] for row in accepted(settings)]
    masked = edge.replace("80.0.361.69", "<ip>")
    assert agents == [masked, COMBINED.rsplit('"', 2)[1], masked]


def test_visitor_keys_are_the_same_whichever_file_and_however_many_are_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = COMBINED.replace(" jdupont ", " - ").replace("192.0.2.10", "198.51.100.23")
    days = {
        f"logs/access.log-2020031{day}": [line.replace("16/Mar", f"1{day}/Mar") for line in (COMBINED, anonymous)]
        for day in (6, 7)
    }
    remembered = settings_for(tmp_path / "remembered")
    for name, lines in days.items():
        write_raw(remembered, name, lines)
    ingest_raw(remembered)
    monkeypatch.setattr(access_logs, "KNOWN_VALUES", 1)
    forgotten = settings_for(tmp_path / "forgotten")
    for name, lines in days.items():
        write_raw(forgotten, name, lines)
    ingest_raw(forgotten)
    agent = COMBINED.rsplit('"', 2)[1]
    expected = [(user_key("jdupont"), user_key("jdupont")), (anonymous_key("198.51.100.23", agent), None)] * 2
    for settings in (remembered, forgotten):
        keys = table(settings, "access_log").sort("local_day", "line_number").select("visitor_key", "user_key")
        assert list(keys.iter_rows()) == expected


def test_blank_lines_are_neither_accepted_nor_rejected_but_keep_line_numbers(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, ["", COMBINED, "   ", "\t", COMBINED, "garbage", ""])
    assert [row["line_number"] for row in accepted(settings)] == [2, 5]
    assert [(line_number, reason) for line_number, _, reason, _ in rejects(settings)] == [(6, "not a log line")]
    [entry] = read_ledger(settings).to_dicts()
    assert (entry["lines_read"], entry["lines_accepted"], entry["lines_rejected"]) == (3, 2, 1)


def test_windows_line_ends_and_a_last_line_without_newline_are_read(tmp_path: Path) -> None:
    content = (COMBINED + "\r\n" + COMBINED.replace("08:15:02", "08:16:00")).encode()
    settings = ingest_lines(tmp_path, content)
    assert [(row["line_number"], row["user_agent"][-4:]) for row in accepted(settings)] == [(1, "74.0"), (2, "74.0")]


def test_gzip_is_told_by_its_magic_bytes_not_by_its_name(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log", [COMBINED], compress=True)
    write_raw(settings, "logs/access.log-20200317.gz", [COMBINED.replace("16/Mar", "17/Mar")])
    report = ingest_raw(settings)
    assert report.problems == []
    assert sorted(row["local_day"].day for row in accepted(settings)) == [16, 17]


def test_a_gzip_file_of_several_members_is_read_whole(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = settings.raw_dir / "logs" / "access.log-20200317.gz"
    path.parent.mkdir(parents=True)
    members = [(COMBINED.replace("08:15:02", f"08:{minute:02}:00") + "\n").encode() for minute in range(3)]
    path.write_bytes(b"".join(gzip.compress(member) for member in members))
    assert ingest_raw(settings).problems == []
    assert [row["ts_utc"].minute for row in accepted(settings)] == [0, 1, 2]


def test_lines_across_chunk_boundaries_are_all_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [COMBINED.replace("08:15:02", f"08:{minute:02}:00") for minute in range(40)]
    lines[7], lines[20] = "", "x" * 700  # a blank line, and a line longer than a block
    settings = settings_for(tmp_path / "whole")
    write_raw(settings, "logs/access.log", lines)
    ingest_raw(settings)
    monkeypatch.setattr(raw_files, "BLOCK_BYTES", 97)
    chunked = settings_for(tmp_path / "chunked")
    write_raw(chunked, "logs/access.log", lines)
    ingest_raw(chunked)
    assert accepted(chunked) == accepted(settings)
    assert [row["line_number"] for row in accepted(chunked)] == [n for n in range(1, 41) if n not in (8, 21)]
    assert [(line_number, reason) for line_number, _, reason, _ in rejects(chunked)] == [(21, "not a log line")]


def test_a_file_too_large_to_keep_in_memory_is_read_again_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [COMBINED.replace("08:15:02", f"08:{minute:02}:00") for minute in range(40)] + ["garbage"]
    kept = settings_for(tmp_path / "kept")
    write_raw(kept, "logs/access.log-20200317.gz", lines, compress=True)
    ingest_raw(kept)
    monkeypatch.setattr(raw_files, "KEPT_CONTENT_BYTES", 0)
    streamed = settings_for(tmp_path / "streamed")
    write_raw(streamed, "logs/access.log-20200317.gz", lines, compress=True)
    report = ingest_raw(streamed)
    assert report.problems == []
    assert accepted(streamed) == accepted(kept) and len(accepted(streamed)) == 40
    assert rejects(streamed) == rejects(kept) and len(rejects(streamed)) == 1
    assert read_ledger(streamed)["file_id"].to_list() == read_ledger(kept)["file_id"].to_list()


def test_every_line_of_a_real_log_is_accounted_for(tmp_path: Path) -> None:
    settings = ingest_lines(tmp_path, FIXTURE_LOG.read_bytes())
    text_lines = FIXTURE_LOG.read_text().splitlines()
    non_blank = sum(1 for line in text_lines if line.strip())
    [entry] = read_ledger(settings).to_dicts()
    assert non_blank == 3456
    assert entry["lines_read"] == entry["lines_accepted"] + entry["lines_rejected"] == non_blank
    lines = table(settings, "access_log")
    numbers = lines["line_number"].to_list()
    reject_rows = table(settings, "log_rejects")
    numbers += reject_rows["line_number"].to_list() if reject_rows.height else []
    assert sorted(numbers) == list(range(1, non_blank + 1))
    assert all(reason in access_logs.REASONS for reason in (reject_rows["reason"] if reject_rows.height else []))
    posts = sum(1 for line in text_lines if '"POST ' in line)
    assert lines.filter(pl.col("method") == "POST").height == posts
    not_found = sum(1 for line in text_lines if re.search(r'" 404 ', line))
    assert lines.filter(pl.col("status") == 404).height == not_found
    assert lines["local_day"].min() == dt.date(2015, 10, 25)


def test_no_raw_login_or_address_is_written_anywhere_in_the_warehouse(tmp_path: Path) -> None:
    logins = ["jdupont", "marie.curie42"]
    addresses = ["192.0.2.10", "198.51.100.23", "203.0.113.9", "2001:db8:85a3::8a2e:370:7334"]
    lines = [
        COMBINED,
        f'{addresses[3]} - marie.curie42 [16/Mar/2020:08:15:02 +0100] "GET /?from={addresses[1]} HTTP/1.1" 200 5',
        f'{addresses[1]} - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "http://{addresses[2]}/" "-"',
        f'{addresses[2]} - jdupont [31/Feb/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "-"',
        f'{addresses[0]} - marie.curie42 [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200',
        f"error from {addresses[3]} for {addresses[0]}",
    ]
    settings = ingest_lines(tmp_path, lines)
    assert len(table(settings, "access_log")) == 3 and len(table(settings, "log_rejects")) == 3
    files = warehouse_files(settings)
    assert any(name.startswith("access_log/") for name in files) and "ledger.parquet" in files
    for name, content in files.items():
        texts = [content.decode("latin-1")]
        if name.endswith(".parquet"):
            frame = pl.read_parquet(settings.warehouse_dir / name)
            texts += [str(value) for column in frame.columns for value in frame[column].cast(pl.String).to_list()]
        for identifier in logins + addresses:
            assert not any(identifier in text for text in texts), f"{identifier} in {name}"


def unusable_report(tmp_path: Path, name: str, content: bytes) -> tuple[Settings, list[str]]:
    """Ingest a good log beside one unusable file; returns the settings and the problems reported."""
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/good.log", [COMBINED, COMBINED])
    write_raw(settings, name, content)
    return settings, ingest_raw(settings).problems


def assert_good_log_alone_ingested(settings: Settings) -> None:
    assert read_ledger(settings)["path"].to_list() == ["logs/good.log"]
    assert [row["line_number"] for row in accepted(settings)] == [1, 2]


def test_corrupt_gzip_gives_one_problem_and_loses_nothing_else(tmp_path: Path) -> None:
    truncated = gzip.compress(("\n".join([COMBINED] * 200)).encode())[:300]
    settings, problems = unusable_report(tmp_path, "logs/access.log-20200317.gz", truncated)
    assert len(problems) == 1 and problems[0].startswith("logs/access.log-20200317.gz: corrupt gzip file")
    assert_good_log_alone_ingested(settings)
    assert not (settings.warehouse_dir / ".staging").exists() or not any(
        (settings.warehouse_dir / ".staging").iterdir()
    )


def test_empty_file_gives_one_problem_and_loses_nothing_else(tmp_path: Path) -> None:
    settings, problems = unusable_report(tmp_path, "logs/access.log", b"")
    assert problems == ["logs/access.log: empty file"]
    assert_good_log_alone_ingested(settings)


def test_empty_gzip_file_gives_one_problem(tmp_path: Path) -> None:
    settings, problems = unusable_report(tmp_path, "logs/access.log.gz", gzip.compress(b""))
    assert problems == ["logs/access.log.gz: empty file"]
    assert_good_log_alone_ingested(settings)


def test_binary_file_gives_one_problem_and_loses_nothing_else(tmp_path: Path) -> None:
    settings, problems = unusable_report(tmp_path, "logs/screenshot.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert problems == ["logs/screenshot.png: not a text file"]
    assert_good_log_alone_ingested(settings)


def test_unreadable_file_gives_one_problem_and_loses_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, whom chmod 000 does not stop: the refusal is simulated where the file is opened.
    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("secret.log"):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(raw_files, "open", refusing_open, raising=False)
    settings, problems = unusable_report(tmp_path, "logs/secret.log", (COMBINED + "\n").encode())
    assert problems == ["logs/secret.log: cannot be read (Permission denied)"]
    assert_good_log_alone_ingested(settings)


def test_dangling_link_gives_one_problem_and_loses_nothing_else(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/good.log", [COMBINED, COMBINED])
    (settings.raw_dir / "logs" / "gone.log").symlink_to(tmp_path / "nowhere.log")
    assert ingest_raw(settings).problems == ["logs/gone.log: cannot be read (No such file or directory)"]
    assert_good_log_alone_ingested(settings)


def test_missing_raw_folder_is_a_user_error(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(UserError, match="raw data folder .* does not exist"):
        ingest_raw(settings)


def _mutations(lines: list[str], count: int) -> list[str]:
    """Lines with one character changed, dropped or doubled, favouring the characters the format cuts at."""
    import random

    chooser = random.Random(20200316)
    tricky = ' "\\[]-:/+.?\t0123456789AZaz'
    mutated = []
    for _ in range(count):
        line = chooser.choice(lines)
        at = chooser.randrange(len(line) + 1)
        edit = chooser.choice(["change", "drop", "double", "insert"])
        if edit == "change" and at < len(line):
            line = line[:at] + chooser.choice(tricky) + line[at + 1 :]
        elif edit == "drop":
            line = line[:at] + line[at + 1 :]
        elif edit == "double" and at < len(line):
            line = line[: at + 1] + line[at:]
        else:
            line = line[:at] + chooser.choice(tricky) + line[at:]
        mutated.append(line)
    return mutated


def _careful(lines: list[str]) -> pl.DataFrame:
    """Every line parsed by the full expression alone, as the careful path does."""
    frame = pl.DataFrame({"text": lines}).select(
        pl.int_range(1, len(lines) + 1, dtype=pl.Int64).alias("line_number"), "text", pl.lit(True).alias("utf8")
    )
    return access_logs.parse_lines(frame, "Europe/Paris").sort("line_number")


def test_the_cut_of_everyday_lines_equals_the_full_expression() -> None:
    real = [line for line in FIXTURE_LOG.read_text().splitlines() if line.strip()]
    common = '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET /a?b=1 HTTP/1.0" 304 -'
    lines = [COMBINED, common, *real, *[case for case, _day in MALFORMED.values()]]
    lines += _mutations(lines, 4000)
    lines = [line for line in lines if "\n" not in line and "\r" not in line]
    chunk = "".join(line + "\n" for line in lines).encode()

    cut_lines, quick = access_logs.parse_text(chunk, 1, "Europe/Paris")

    assert cut_lines["text"].to_list() == lines
    everyday = [re.fullmatch(access_logs.PLAIN_LINE_PATTERN, line) is not None for line in lines]
    assert 3000 < sum(everyday) < len(lines)  # both paths are exercised
    careful = _careful(lines)
    assert quick.height == careful.height == len(lines)
    assert quick.sort("line_number").select(careful.columns).to_dicts() == careful.to_dicts()


def test_a_chunk_that_is_not_utf8_is_read_whole_by_the_careful_path() -> None:
    latin1 = '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET /caf\xe9 HTTP/1.1" 200 5 "-" "-"'.encode("latin-1")
    chunk = (COMBINED + "\r\n").encode() + latin1 + b"\n\n" + COMBINED.encode()

    lines, parsed = access_logs.parse_text(chunk, 7, "Europe/Paris")

    assert lines["line_number"].to_list() == [7, 8, 9, 10]
    assert lines["utf8"].to_list() == [True, False, True, True]
    assert parsed.sort("line_number")["reason"].to_list() == [None, "not UTF-8", None]  # the blank line is neither


def test_line_ends_blank_lines_and_an_unterminated_last_line_are_cut_like_the_careful_path() -> None:
    common = '192.0.2.10 - - [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 -'
    chunk = (COMBINED + "\r\n\n   \n" + common + "\r\r\n" + COMBINED).encode()

    lines, parsed = access_logs.parse_text(chunk, 1, "Europe/Paris")

    assert lines["text"].to_list() == [COMBINED, "", "   ", common + "\r", COMBINED]
    assert parsed.sort("line_number").to_dicts() == _careful(lines["text"].to_list()).to_dicts()


def test_without_the_c_extension_every_line_gives_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [COMBINED, *[case for case, _day in MALFORMED.values()], *_mutations([COMBINED], 300)]
    chunk = "".join(line + "\n" for line in lines).encode()
    with_cut = access_logs.parse_text(chunk, 1, "Europe/Paris")[1].sort("line_number")

    monkeypatch.setattr(access_logs, "_log_lines", None)
    without = access_logs.parse_text(chunk, 1, "Europe/Paris")[1].sort("line_number")

    assert without.select(with_cut.columns).to_dicts() == with_cut.to_dicts()


def test_the_c_extension_is_built() -> None:
    assert access_logs._log_lines is not None, "pipelines/ingest/_log_lines.c was not compiled: reinstall with a C compiler"
