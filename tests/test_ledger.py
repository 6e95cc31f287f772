"""The ledger of raw files: duplicates, reruns, changed and rotated files, unusable files, killed runs."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
from pathlib import Path

import pytest

from ingest_fixtures import settings_for, table, warehouse_files, write_raw
from pipelines import ingest
from pipelines.ingest import discover, files, ingest_file, ingest_raw, ledger, parts, read_ledger, record
from pipelines.pseudonym import load_key
from pipelines.quality import quality_report
from pipelines.settings import Settings


def log_lines(day: int, count: int, start_minute: int = 0) -> list[str]:
    """`count` combined lines of 2020-03-<day>, one a minute, with a rejected line last."""
    lines = [
        f"192.0.2.{minute % 200} - user{minute % 7} [{day:02}/Mar/2020:09:{minute % 60:02}:00 +0100] "
        f'"GET /espaces/s{minute % 3}/ HTTP/1.1" 200 {100 + minute} "-" "Mozilla/5.0"'
        for minute in range(start_minute, start_minute + count)
    ]
    return lines + [f"broken line of day {day}"]


def file_id_of(lines: list[str]) -> str:
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()[:16]


def ledger_rows(settings: Settings) -> list[tuple]:
    return list(
        read_ledger(settings)
        .select("path", "file_id", "status", "lines_read", "lines_accepted", "lines_rejected")
        .iter_rows()
    )


def accepted_lines(settings: Settings) -> list[tuple]:
    frame = table(settings, "access_log")
    return sorted(frame.select("file_id", "line_number", "local_day", "path", "visitor_key").iter_rows())


def test_ledger_has_one_row_per_raw_file_with_its_size_time_content_and_counts(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lines = log_lines(16, 5)
    path = write_raw(settings, "logs/access.log-20200316.gz", lines, compress=True)
    ingest_raw(settings)
    [entry] = read_ledger(settings).to_dicts()
    status = path.stat()
    assert {key: value for key, value in entry.items() if key != "ingested_at"} == {
        "path": "logs/access.log-20200316.gz", "kind": "logs", "size": status.st_size, "mtime_ns": status.st_mtime_ns,
        "file_id": file_id_of(lines), "status": "ingested", "lines_read": 6, "lines_accepted": 5, "lines_rejected": 1,
    }  # fmt: skip
    assert entry["ingested_at"].tzinfo is not None
    assert [
        part.relative_to(settings.warehouse_dir).as_posix() for part in parts.part_files(settings.warehouse_dir)
    ] == [
        f"access_log/day=2020-03-16/{file_id_of(lines)}.parquet",
        f"log_rejects/{file_id_of(lines)}.parquet",
    ]


def test_same_content_under_another_name_is_skipped_and_writes_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lines = log_lines(16, 5)
    write_raw(settings, "logs/access.log-20200316", lines)
    write_raw(settings, "logs/copy/access.log.1", lines)
    report = ingest_raw(settings)
    assert [(result.path, result.status) for result in report.files] == [
        ("logs/access.log-20200316", "ingested"), ("logs/copy/access.log.1", "skipped_duplicate"),
    ]  # fmt: skip
    assert [row[:3] for row in ledger_rows(settings)] == [
        ("logs/access.log-20200316", file_id_of(lines), "ingested"),
        ("logs/copy/access.log.1", file_id_of(lines), "skipped_duplicate"),
    ]
    assert len(accepted_lines(settings)) == 5 and table(settings, "log_rejects")["source_file"].to_list() == [
        "logs/access.log-20200316"
    ]


def test_gzip_and_plain_copies_of_a_log_are_the_same_content(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lines = log_lines(16, 5)
    write_raw(settings, "logs/access.log-20200316.gz", lines, compress=True)
    write_raw(settings, "logs/access.log.1", lines)
    ingest_raw(settings)
    assert [row[:3] for row in ledger_rows(settings)] == [
        ("logs/access.log-20200316.gz", file_id_of(lines), "ingested"),
        ("logs/access.log.1", file_id_of(lines), "skipped_duplicate"),
    ]
    assert len(accepted_lines(settings)) == 5
    assert quality_report(settings)["files_skipped_duplicate"] == 1 and quality_report(settings)["log_lines_read"] == 6


def test_duplicate_arriving_in_a_later_run_changes_no_part(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lines = log_lines(16, 5)
    write_raw(settings, "logs/access.log-20200316", lines)
    ingest_raw(settings)
    before = {name: content for name, content in warehouse_files(settings).items() if name != "ledger.parquet"}
    write_raw(settings, "logs/backup/access.log-20200316.gz", lines, compress=True)
    assert [(result.path, result.status) for result in ingest_raw(settings).files] == [
        ("logs/backup/access.log-20200316.gz", "skipped_duplicate")
    ]
    assert {name: content for name, content in warehouse_files(settings).items() if name != "ledger.parquet"} == before


def test_a_second_run_on_the_same_raw_folder_changes_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log-20200316.gz", log_lines(16, 5), compress=True)
    write_raw(settings, "logs/access.log", log_lines(17, 3))
    write_raw(settings, "logs/copy.log", log_lines(17, 3))
    ingest_raw(settings)
    ledger_before, files_before, quality_before = (
        read_ledger(settings),
        warehouse_files(settings),
        quality_report(settings),
    )
    assert ingest_raw(settings).files == []
    assert read_ledger(settings).equals(ledger_before)
    assert warehouse_files(settings) == files_before
    assert quality_report(settings) == quality_before == {
        "files_ingested": 2, "files_skipped_duplicate": 1, "log_lines_read": 10, "log_lines_accepted": 8,
        "log_lines_rejected": 2, "loan_rows_rejected": 0, "need_rows_rejected": 0, "directory_rows_rejected": 0,
    }  # fmt: skip


def test_checking_every_file_again_by_content_changes_no_part_nor_count(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log-20200316.gz", log_lines(16, 5), compress=True)
    write_raw(settings, "logs/copy.log", log_lines(16, 5))
    write_raw(settings, "logs/access.log", log_lines(17, 3))
    ingest_raw(settings)
    rows_before, parts_before = ledger_rows(settings), warehouse_files(settings)
    key = load_key(settings)
    results = [ingest_file(settings, key, raw_file) for raw_file in ledger.raw_files_on_disk(settings)]
    assert [result.staging for result in results] == [None, None, None]  # known content: nothing parsed again
    record(settings, results)
    assert ledger_rows(settings) == rows_before
    assert {name: content for name, content in warehouse_files(settings).items() if name != "ledger.parquet"} == {
        name: content for name, content in parts_before.items() if name != "ledger.parquet"
    }


def test_a_path_whose_size_and_time_are_unchanged_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log", log_lines(16, 5))
    ingest_raw(settings)

    def must_not_read(path: Path) -> None:
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(files, "fingerprint", must_not_read)
    assert discover(settings) == []
    assert ingest_raw(settings).problems == []


def test_a_grown_log_replaces_what_its_path_had_contributed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = log_lines(16, 5)[:-1]
    path = write_raw(settings, "logs/access.log", first)
    ingest_raw(settings)
    grown = first + log_lines(16, 3, start_minute=5)
    path.write_text("".join(line + "\n" for line in grown))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert [raw_file.path for raw_file in discover(settings)] == ["logs/access.log"]
    ingest_raw(settings)
    assert ledger_rows(settings) == [("logs/access.log", file_id_of(grown), "ingested", 9, 8, 1)]
    assert {row[0] for row in accepted_lines(settings)} == {file_id_of(grown)}
    assert [row[1] for row in accepted_lines(settings)] == list(range(1, 9))
    assert {part.stem for part in parts.part_files(settings.warehouse_dir)} == {file_id_of(grown)}


def test_content_rotated_to_another_name_is_kept_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    day16, day17, day18 = log_lines(16, 4), log_lines(17, 3), log_lines(18, 2)
    write_raw(settings, "logs/access.log", day17)
    write_raw(settings, "logs/access.log.1", day16)
    ingest_raw(settings)
    # logrotate: access.log.1 moves to access.log.2.gz, access.log to access.log.1, a new access.log starts.
    write_raw(settings, "logs/access.log.2.gz", day16, compress=True)
    write_raw(settings, "logs/access.log.1", day17)
    write_raw(settings, "logs/access.log", day18)
    ingest_raw(settings)
    assert ledger_rows(settings) == [
        ("logs/access.log", file_id_of(day18), "ingested", 3, 2, 1),
        ("logs/access.log.1", file_id_of(day17), "ingested", 4, 3, 1),
        ("logs/access.log.2.gz", file_id_of(day16), "ingested", 5, 4, 1),
    ]
    days = table(settings, "access_log")["local_day"].dt.day().value_counts().sort("local_day").rows()
    assert days == [(16, 4), (17, 3), (18, 2)]
    assert quality_report(settings)["log_lines_read"] == 12


def test_a_duplicate_takes_over_when_the_owner_path_changes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    day16 = log_lines(16, 4)
    write_raw(settings, "logs/a.log", day16)
    write_raw(settings, "logs/b.log", day16)
    ingest_raw(settings)
    write_raw(settings, "logs/a.log", log_lines(17, 2))
    ingest_raw(settings)
    assert [row[:3] for row in ledger_rows(settings)] == [
        ("logs/a.log", file_id_of(log_lines(17, 2)), "ingested"),
        ("logs/b.log", file_id_of(day16), "ingested"),
    ]
    assert sorted(table(settings, "access_log")["local_day"].dt.day().to_list()) == [16] * 4 + [17] * 2


def test_a_raw_file_removed_later_keeps_its_history(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = write_raw(settings, "logs/access.log-20200316.gz", log_lines(16, 4), compress=True)
    ingest_raw(settings)
    path.unlink()
    ingest_raw(settings)
    assert ledger_rows(settings)[0][0] == "logs/access.log-20200316.gz"
    assert len(accepted_lines(settings)) == 4


def test_an_unusable_file_is_not_recorded_and_is_tried_again_next_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    lines = log_lines(16, 4)
    path = write_raw(
        settings, "logs/access.log-20200316.gz", gzip.compress("".join(line + "\n" for line in lines).encode())[:40]
    )
    report = ingest_raw(settings)
    assert len(report.problems) == 1 and read_ledger(settings).is_empty()
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    assert ingest_raw(settings).problems == []
    assert ledger_rows(settings) == [("logs/access.log-20200316.gz", file_id_of(lines), "ingested", 5, 4, 1)]


def test_a_changed_path_that_became_unusable_keeps_its_earlier_content(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = write_raw(settings, "logs/access.log", log_lines(16, 4))
    ingest_raw(settings)
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert len(ingest_raw(settings).problems) == 1
    assert ledger_rows(settings) == [("logs/access.log", file_id_of(log_lines(16, 4)), "ingested", 5, 4, 1)]
    assert len(accepted_lines(settings)) == 4


def test_ingest_file_writes_no_ledger_and_only_staged_parts(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log", log_lines(16, 4))
    [raw_file] = discover(settings)
    result = ingest_file(settings, load_key(settings), raw_file)
    assert (result.status, result.lines_read, result.lines_accepted, result.lines_rejected) == ("ingested", 5, 4, 1)
    assert not ledger.ledger_path(settings).exists() and parts.part_files(settings.warehouse_dir) == []
    staged = sorted(
        path.relative_to(settings.warehouse_dir / result.staging).as_posix()
        for path in (settings.warehouse_dir / result.staging).rglob("*.parquet")
    )
    assert staged == [f"access_log/day=2020-03-16/{result.file_id}.parquet", f"log_rejects/{result.file_id}.parquet"]
    [recorded] = record(settings, [result])
    assert recorded.status == "ingested" and len(parts.part_files(settings.warehouse_dir)) == 2
    assert not (settings.warehouse_dir / result.staging).exists()


def test_raw_files_and_results_are_small_picklable_values(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log", log_lines(16, 4))
    [raw_file] = discover(settings)
    result = ingest_file(settings, load_key(settings), raw_file)
    for value in (raw_file, result):
        assert pickle.loads(pickle.dumps(value)) == value and len(pickle.dumps(value)) < 600


def test_discover_walks_subfolders_of_each_kind_and_skips_hidden_names(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for name in ["logs/2020/03/access.log", "logs/.access.log.swp", "logs/.partial/access.log", "loans/prets.csv",
                 "reference/colleges.csv", "other/notes.log", "README.md", "needs/2020/besoins.csv"]:  # fmt: skip
        write_raw(settings, name, ["x"])
    assert [(raw_file.path, raw_file.kind) for raw_file in discover(settings)] == [
        ("loans/prets.csv", "loans"), ("logs/2020/03/access.log", "logs"),
        ("needs/2020/besoins.csv", "needs"), ("reference/colleges.csv", "reference"),
    ]  # fmt: skip


def test_files_are_read_most_content_first_whatever_their_size_on_disk(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/a.log", ["line"] * 1_000)  # 5 kB on disk and in content
    write_raw(settings, "logs/b.log.gz", ["the same line"] * 10_000, compress=True)  # 140 kB in 1 kB on disk
    write_raw(settings, "logs/c.log", ["another line"] * 2_000)  # 26 kB
    write_raw(settings, "logs/d.log.gz", b"\x1f\x8b")  # too short for gzip: ordered by its size, reported when read

    order = ingest.reading_order(settings.raw_dir, discover(settings))

    assert [raw_file.path for raw_file in order] == ["logs/b.log.gz", "logs/c.log", "logs/a.log", "logs/d.log.gz"]


class Killed(BaseException):
    """Stands for the process being killed: nothing below catches it."""


def kill_on_call(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, call: int) -> None:
    """Make the `call`-th call of owner.name die before doing anything."""
    real, calls = getattr(owner, name), []

    def dying(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == call:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


def department(settings: Settings) -> None:
    write_raw(settings, "logs/access.log-20200316.gz", log_lines(16, 6), compress=True)
    write_raw(settings, "logs/access.log-20200317", log_lines(17, 5))
    write_raw(settings, "logs/access.log", log_lines(18, 4))
    write_raw(settings, "logs/copy-of-17.log", log_lines(17, 5))


@pytest.mark.parametrize(
    ("owner", "name", "call"),
    [
        (parts.PartWriter, "write", 3),  # while parsing the second file
        (ledger, "place_parts", 2),  # before the second file's parts are placed
        (os, "replace", 2),  # between the renames of one file's two parts
        (ledger, "write_ledger", 2),  # parts placed, ledger not yet written
        (ledger, "remove_parts_except", 1),  # every file recorded, old parts not yet removed
    ],
    ids=["parsing", "placing", "renaming", "recording", "cleaning"],
)
def test_a_run_killed_at_any_point_then_started_again_gives_the_same_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, call: int
) -> None:
    uninterrupted = settings_for(tmp_path / "uninterrupted")
    department(uninterrupted)
    ingest_raw(uninterrupted)
    killed = settings_for(tmp_path / "killed")
    department(killed)
    with monkeypatch.context() as patch:
        kill_on_call(patch, owner, name, call)
        with pytest.raises(Killed):
            ingest_raw(killed)
    ingest_raw(killed)
    assert ledger_rows(killed) == ledger_rows(uninterrupted)
    assert accepted_lines(killed) == accepted_lines(uninterrupted)
    assert table(killed, "log_rejects").equals(table(uninterrupted, "log_rejects"))
    assert sorted(warehouse_files(killed)) == sorted(warehouse_files(uninterrupted))
    assert quality_report(killed) == quality_report(uninterrupted)


DIRECTORY = [
    "user_id;profile;uai",
    "alice.martin;eleve;0921170X",
    "b.durand;enseignante;0921243B",
    "c.petit;parent;0921170X",
]
REFERENCE = [
    "uai;name;commune;sector;education_priority;students",
    "0921170X;Collège Jean Moulin;Nanterre;public;REP;640",
]


def test_an_export_is_written_to_its_table_with_its_file_id(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "directory/annuaire.csv", DIRECTORY)
    write_raw(settings, "reference/colleges.csv.gz", REFERENCE, compress=True)
    assert ingest_raw(settings).problems == []
    directory_id, reference_id = file_id_of(DIRECTORY), file_id_of(REFERENCE)
    accepted_rows = table(settings, "directory")
    assert accepted_rows.columns[:4] == ["file_id", "source_file", "line_number", "user_key"]
    assert accepted_rows.select("file_id", "line_number", "profile").rows() == [
        (directory_id, 2, "eleve"),
        (directory_id, 4, "parent"),
    ]
    assert table(settings, "csv_rejects").select("file_id", "kind", "line_number").rows() == [
        (directory_id, "directory", 3)
    ]
    assert table(settings, "colleges").select("file_id", "source_file", "uai").rows() == [
        (reference_id, "reference/colleges.csv.gz", "0921170X")
    ]
    assert ledger_rows(settings) == [
        ("directory/annuaire.csv", directory_id, "ingested", 3, 2, 1),
        ("reference/colleges.csv.gz", reference_id, "ingested", 1, 1, 0),
    ]
    assert quality_report(settings)["directory_rows_rejected"] == 1


def test_an_unusable_export_gives_one_problem_and_loses_nothing_else(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_raw(settings, "directory/annuaire.csv", DIRECTORY)
    write_raw(settings, "loans/prets.csv", ["loan_id;device_type", "L1;tablette"])
    problems = ingest_raw(settings).problems
    assert len(problems) == 1 and problems[0].startswith("loans/prets.csv: ")
    assert [row[0] for row in ledger_rows(settings)] == ["directory/annuaire.csv"]
    assert not (settings.warehouse_dir / "loans").exists()


def test_the_package_exposes_the_ingestion_api() -> None:
    assert {"ingest_raw", "discover", "ingest_file", "record", "RawFile", "FileResult", "IngestReport"} <= set(
        ingest.__all__
    )
