"""Settings read once from the environment, and the command line's one-line errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.errors import UserError
from pipelines.pseudonym import load_key
from pipelines.settings import Settings, load_settings


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.timezone, settings.visit_timeout_minutes, settings.small_count_threshold) == ("Europe/Paris", 30, 5)
    assert settings.retention_months == 25


def test_every_variable_is_read_with_the_prefix() -> None:
    settings = load_settings(
        {
            "ENT_ANALYTICS_DATA_DIR": "/srv/ent",
            "ENT_ANALYTICS_TIMEZONE": "America/Cayenne",
            "ENT_ANALYTICS_VISIT_TIMEOUT_MINUTES": "20",
            "ENT_ANALYTICS_SMALL_COUNT_THRESHOLD": "10",
            "ENT_ANALYTICS_RETENTION_MONTHS": "13",
            "ENT_ANALYTICS_DASK_ADDRESS": "tcp://127.0.0.1:8786",
        }
    )
    assert settings.raw_dir == Path("/srv/ent/raw")
    assert (settings.timezone, settings.visit_timeout_minutes) == ("America/Cayenne", 20)
    assert (settings.small_count_threshold, settings.retention_months) == (10, 13)
    assert settings.dask_address == "tcp://127.0.0.1:8786"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus", "is not a known time zone"),
        ("VISIT_TIMEOUT_MINUTES", "half an hour", "is not a whole number"),
        ("VISIT_TIMEOUT_MINUTES", "0", "must be at least 1"),
        ("RETENTION_MONTHS", "-3", "must be at least 1"),
        ("DASK_ADDRESS", "scheduler:8786", "must look like tcp://host:port"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(UserError, match=f"ENT_ANALYTICS_{name}.*{message}"):
        load_settings({f"ENT_ANALYTICS_{name}": value})


def test_a_bad_setting_stops_the_command_with_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("ENT_ANALYTICS_TIMEZONE", "Mars/Olympus")
    assert main(["quality", "--data-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("ent-analytics: error: ENT_ANALYTICS_TIMEZONE")


@pytest.mark.parametrize("command", [["run"], ["quality"], ["headline"]])
def test_a_missing_data_folder_is_one_line_and_a_failure(command: list[str], capsys, tmp_path: Path) -> None:
    assert main([*command, "--data-dir", str(tmp_path / "nowhere")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error and "nowhere" in error


def test_a_bad_date_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["headline", "--start", "16/03/2020"])
    assert stop.value.code == 2
    assert "is not a date like 2020-03-16" in capsys.readouterr().err


def test_the_key_file_is_created_once_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_key(settings)
    assert stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode) == 0o600
    assert load_key(settings) == first and len(first) == 64


def test_the_key_from_the_environment_wins(tmp_path: Path) -> None:
    assert load_key(Settings(data_dir=tmp_path, pseudonym_key="from-env")) == b"from-env"
    assert not (tmp_path / "secret.key").exists()
