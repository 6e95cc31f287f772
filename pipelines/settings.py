"""One frozen settings object, read once from the environment (prefix ENT_ANALYTICS_)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.errors import UserError

PREFIX = "ENT_ANALYTICS_"


@dataclass(frozen=True)
class Settings:
    """Where the data lives and the knobs of the metrics; see the README's settings table."""

    data_dir: Path = Path("data")
    timezone: str = "Europe/Paris"
    pseudonym_key: str | None = None
    pseudonym_key_file: Path | None = None
    visit_timeout_minutes: int = 30
    small_count_threshold: int = 5
    retention_months: int = 25
    services_file: Path | None = None
    dask_address: str | None = None

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def dashboards_dir(self) -> Path:
        return self.data_dir / "dashboards"

    @property
    def key_file(self) -> Path:
        return self.pseudonym_key_file or self.data_dir / "secret.key"

    def with_data_dir(self, data_dir: str | Path | None) -> Settings:
        """The same settings for another data folder (the CLI's --data-dir)."""
        return self if data_dir is None else replace(self, data_dir=Path(data_dir))


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise UserError(f"{PREFIX}{name}={value} must be at least {minimum}")
    return value


def _path(env: dict[str, str], name: str) -> Path | None:
    raw = env.get(PREFIX + name)
    return Path(raw) if raw else None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings; a bad value raises UserError naming the variable."""
    env = dict(os.environ if environ is None else environ)
    timezone = env.get(PREFIX + "TIMEZONE") or Settings.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"{PREFIX}TIMEZONE={timezone!r} is not a known time zone") from None
    dask_address = env.get(PREFIX + "DASK_ADDRESS") or None
    if dask_address and "://" not in dask_address:
        raise UserError(f"{PREFIX}DASK_ADDRESS={dask_address!r} must look like tcp://host:port")
    return Settings(
        data_dir=_path(env, "DATA_DIR") or Settings.data_dir,
        timezone=timezone,
        pseudonym_key=env.get(PREFIX + "PSEUDONYM_KEY") or None,
        pseudonym_key_file=_path(env, "PSEUDONYM_KEY_FILE"),
        visit_timeout_minutes=_int(env, "VISIT_TIMEOUT_MINUTES", Settings.visit_timeout_minutes, 1),
        small_count_threshold=_int(env, "SMALL_COUNT_THRESHOLD", Settings.small_count_threshold, 0),
        retention_months=_int(env, "RETENTION_MONTHS", Settings.retention_months, 1),
        services_file=_path(env, "SERVICES_FILE"),
        dask_address=dask_address,
    )
