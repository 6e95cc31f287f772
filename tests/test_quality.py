"""`ent-analytics quality`: the contract's figures, from the ledger, as JSON or a text table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest_fixtures import settings_for, write_raw
from pipelines.cli import main
from pipelines.errors import UserError
from pipelines.ingest import ingest_raw
from pipelines.quality import quality_report, render_quality

CONTRACT_KEYS = [
    "files_ingested", "files_skipped_duplicate", "log_lines_read", "log_lines_accepted", "log_lines_rejected",
    "loan_rows_rejected", "need_rows_rejected", "directory_rows_rejected",
]  # fmt: skip
LOG = [
    '192.0.2.10 - jdupont [16/Mar/2020:08:15:02 +0100] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0"',
    "",
    '192.0.2.11 - - [16/Mar/2020:08:15:03 +0100] "GET /espaces/s1/ HTTP/1.1" 200 5 "-" "Mozilla/5.0"',
    '192.0.2.12 - - [16/Mar/2020:08:15:04 +0100] "GET / HTTP/1.1" 999 5 "-" "Mozilla/5.0"',
]
LOANS = [
    "loan_id;device_serial;device_type;transfer;recipient_type;recipient_id;uai;start_date;end_date",
    "L1;SN1;tablette;pret;eleve;pupil.1;0921170X;2020-03-20;",
    "L2;SN2;tablette;pret;eleve;pupil.2;0921170X;2020-03-20;2020-03-01",
    "L3;SN3;fusee;pret;eleve;pupil.3;0921170X;2020-03-20;",
]
NEEDS = [
    "need_id;pupil_id;uai;criterion;identified_on",
    "N1;pupil.1;0921170X;rep;2020-03-18",
    "N2;pupil.2;0921170X;rep;18/13/2020",
]
DIRECTORY = ["user_id;profile;uai", "jdupont;enseignant;0921170X", "jdupont;eleve;0921170X"]


def department(tmp_path: Path):
    settings = settings_for(tmp_path)
    write_raw(settings, "logs/access.log-20200316.gz", LOG, compress=True)
    write_raw(settings, "logs/access.log.1", LOG)
    write_raw(settings, "loans/prets.csv", LOANS)
    write_raw(settings, "needs/besoins.csv", NEEDS)
    write_raw(settings, "directory/annuaire.csv", DIRECTORY)
    assert ingest_raw(settings).problems == []
    return settings


def test_quality_has_exactly_the_contracts_keys_as_integers(tmp_path: Path) -> None:
    report = quality_report(department(tmp_path))
    assert list(report) == CONTRACT_KEYS
    assert all(type(value) is int for value in report.values())


def test_quality_counts_files_lines_and_rows_from_the_ledger(tmp_path: Path) -> None:
    assert quality_report(department(tmp_path)) == {
        "files_ingested": 4, "files_skipped_duplicate": 1, "log_lines_read": 3, "log_lines_accepted": 2,
        "log_lines_rejected": 1, "loan_rows_rejected": 2, "need_rows_rejected": 1, "directory_rows_rejected": 1,
    }  # fmt: skip


def test_quality_without_a_ledger_is_all_zeros(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.data_dir.mkdir()
    assert quality_report(settings) == dict.fromkeys(CONTRACT_KEYS, 0)


def test_quality_of_a_missing_data_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data folder .* does not exist"):
        quality_report(settings_for(tmp_path))


def test_text_table_shows_every_figure_on_its_own_line(tmp_path: Path) -> None:
    text = render_quality(quality_report(department(tmp_path)))
    lines = text.splitlines()
    assert lines[0] == "Data quality"
    figures = {line.rsplit("  ", 1)[0].strip(): int(line.rsplit(" ", 1)[1]) for line in lines if line[-1].isdigit()}
    assert figures == {
        "raw files ingested": 4, "raw files skipped (content already ingested)": 1, "access log lines read": 3,
        "access log lines accepted": 2, "access log lines rejected": 1, "loan rows rejected": 2,
        "need rows rejected": 1, "directory rows rejected": 1,
    }  # fmt: skip
    assert len({len(line) for line in lines[1:]}) == 1  # every row as wide: numbers aligned on the right


def test_large_figures_are_grouped_by_thousands() -> None:
    text = render_quality(dict.fromkeys(CONTRACT_KEYS, 0) | {"log_lines_read": 1234567})
    assert "access log lines read" in text and text.splitlines()[5].endswith("1 234 567")


def test_quality_command_prints_the_json_of_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = department(tmp_path)
    assert main(["quality", "--format", "json", "--data-dir", str(settings.data_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == quality_report(settings)


def test_quality_command_on_a_missing_folder_ends_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quality", "--data-dir", str(tmp_path / "nowhere")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("ent-analytics: error: the data folder")
