"""The demo's calendar: its days, their kind (school, lockdown), and local time against UTC across DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

TIMEZONE = ZoneInfo("Europe/Paris")
FIRST_DAY = dt.date(2020, 3, 2)
LAST_DAY = dt.date(2020, 4, 9)
# Macron's address of 12 March closed the schools from Monday 16 March.
ANNOUNCEMENT = dt.date(2020, 3, 13)
LOCKDOWN = dt.date(2020, 3, 16)
# The press release's periods: the whole data, the lockdown, its last three weeks.
PERIODS = ((FIRST_DAY, LAST_DAY), (LOCKDOWN, LAST_DAY), (dt.date(2020, 3, 20), LAST_DAY))
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def demo_days() -> list[dt.date]:
    """Every day of the demo, first to last."""
    return [FIRST_DAY + dt.timedelta(days=offset) for offset in range((LAST_DAY - FIRST_DAY).days + 1)]


def day_index(day: dt.date) -> int:
    """Days since the first day of the demo (negative before it)."""
    return (day - FIRST_DAY).days


def day_kind(day: dt.date) -> str:
    """school_weekday, school_wednesday, school_weekend, announcement(_weekend), lockdown_weekday or _weekend."""
    weekend = day.weekday() >= 5
    if day >= LOCKDOWN:
        return "lockdown_weekend" if weekend else "lockdown_weekday"
    if day >= ANNOUNCEMENT:
        return "announcement_weekend" if weekend else "announcement"
    if weekend:
        return "school_weekend"
    return "school_wednesday" if day.weekday() == 2 else "school_weekday"


def epoch_seconds(moment: dt.datetime) -> int:
    """Seconds since 1970 (UTC) of an aware datetime."""
    return int((moment - EPOCH).total_seconds())


def local_midnight_utc(day: dt.date) -> int:
    """The UTC epoch second at which a local day starts."""
    return epoch_seconds(dt.datetime.combine(day, dt.time(), TIMEZONE))


def hour_starts_utc(day: dt.date) -> np.ndarray:
    """UTC epoch second of each local hour 0-23 of a day; -1 for an hour skipped by the spring DST jump."""
    starts = np.full(24, -1, dtype=np.int64)
    for hour in range(24):
        local = dt.datetime.combine(day, dt.time(hour), TIMEZONE)
        back = dt.datetime.fromtimestamp(local.timestamp(), TIMEZONE)
        if back.replace(tzinfo=None) == local.replace(tzinfo=None):
            starts[hour] = epoch_seconds(local)
    return starts


def utc_offsets(seconds: np.ndarray, day: dt.date) -> np.ndarray:
    """The zone's UTC offset (seconds) at each UTC epoch second of a local day (the day's own transitions only)."""
    starts = hour_starts_utc(day)
    valid = starts[starts >= 0]
    offsets = np.array([_offset_at(int(second)) for second in valid], dtype=np.int64)
    position = np.searchsorted(valid, seconds, side="right") - 1
    return offsets[np.clip(position, 0, len(valid) - 1)]


def _offset_at(second: int) -> int:
    """The zone's UTC offset in seconds at one UTC epoch second."""
    offset = dt.datetime.fromtimestamp(second, TIMEZONE).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def offset_text(seconds: int) -> str:
    """An UTC offset as nginx writes it in $time_local: +0100, +0200."""
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}{minutes:02d}"
