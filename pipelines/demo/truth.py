"""The true figures of the demo department, from what the generator drew, by the contract's definitions.

Usage comes from the generator's own request table, one day at a time (visits never cross local
midnight, so per-day work is exact); equipment and needs from the rows the exports hold once the
later loans export has won. `truth.json` is what the pipeline must publish on the demo's raw folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.demo import paths
from pipelines.demo.population import ANONYME, PROFILES, Population

VISIT_TIMEOUT_SECONDS = 30 * 60
# Visitor keys: an account's row, or this base plus (address, browser) for a visitor without login.
ANONYMOUS_BASE = 1 << 40


@dataclass(frozen=True)
class DayUsage:
    """One local day's figures: visits and page views by profile, its distinct visitors and spaces used."""

    day: dt.date
    visits: np.ndarray
    page_views: np.ndarray
    visitors: np.ndarray
    spaces: np.ndarray


def page_view_rows(requests: dict[str, np.ndarray], population: Population) -> np.ndarray:
    """The contract's page views: GET, status 2xx or 304, a page path, a browser that is not a robot."""
    status = requests["status"]
    robots = population.agents["is_robot"].to_numpy()
    return ((requests["method"] == 0) & (((status >= 200) & (status < 300)) | (status == 304))
            & paths.IS_PAGE[requests["template"]] & ~robots[requests["agent"]])


def visitor_keys(requests: dict[str, np.ndarray], population: Population) -> np.ndarray:
    """The login when there is one (its account row), else the pair (address, browser)."""
    n_agents = population.agents.height
    anonymous = ANONYMOUS_BASE + requests["ip"].astype(np.int64) * n_agents + requests["agent"]
    return np.where(requests["user"] >= 0, requests["user"], anonymous)


def visitor_profiles(keys: np.ndarray, directory_profile: np.ndarray) -> np.ndarray:
    """The profile of visitor keys: the directory's for a login (inconnu when absent), anonyme without."""
    accounts = keys < ANONYMOUS_BASE
    return np.where(accounts, directory_profile[np.where(accounts, keys, 0)], ANONYME)


def day_usage(day: dt.date, requests: dict[str, np.ndarray], directory_profile: np.ndarray,
              population: Population) -> DayUsage:
    """Visits (30-minute rule in real time, exactly 30:00 stays), page views, visitors and spaces of one day."""
    page = page_view_rows(requests, population)
    keys, ts = visitor_keys(requests, population)[page], requests["ts"][page]
    order = np.lexsort((ts, keys))
    keys, ts = keys[order], ts[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = (keys[1:] != keys[:-1]) | (ts[1:] - ts[:-1] > VISIT_TIMEOUT_SECONDS)
    profile = visitor_profiles(keys, directory_profile)
    used = page & paths.NAMES_SPACE[requests["template"]]
    visits = np.bincount(profile[starts], minlength=len(PROFILES))
    page_views = np.bincount(profile, minlength=len(PROFILES))
    return DayUsage(day, visits, page_views, np.unique(keys), np.unique(requests["variable"][used]))


def usage_figures(usage: list[DayUsage], start: dt.date, end: dt.date, directory_profile: np.ndarray) -> dict:
    """Visits, page views, unique visitors and spaces used over a period, and the same by profile."""
    days = [figures for figures in usage if start <= figures.day <= end]
    visits = np.sum([figures.visits for figures in days], axis=0)
    page_views = np.sum([figures.page_views for figures in days], axis=0)
    visitors = np.unique(np.concatenate([figures.visitors for figures in days]))
    unique_by_profile = np.bincount(visitor_profiles(visitors, directory_profile), minlength=len(PROFILES))
    by_profile = {name: {"visits": int(visits[code]), "page_views": int(page_views[code]),
                         "unique_visitors": int(unique_by_profile[code])} for code, name in enumerate(PROFILES)}
    return {
        "visits": int(visits.sum()),
        "page_views": int(page_views.sum()),
        "unique_visitors": len(visitors),
        "collaborative_spaces_used": len(np.unique(np.concatenate([figures.spaces for figures in days]))),
        "by_profile": by_profile,
    }


def latest_loans(loan_rows: pl.DataFrame) -> pl.DataFrame:
    """One row per loan id: from the export whose name sorts last (the contract's update rule)."""
    return loan_rows.sort("source_file", maintain_order=True).unique("loan_id", keep="last", maintain_order=True)


def _counts(rows: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per word of a column, words in alphabetical order (only those that occur)."""
    counted = rows.group_by(column).len().sort(column)
    return {word: int(count) for word, count in counted.iter_rows()}


def device_figures(loans: pl.DataFrame, start: dt.date, end: dt.date) -> dict:
    """Devices provided in the period (by type and recipient) and in service at its end (by type)."""
    provided = loans.filter(pl.col("start_date").is_between(start, end))
    in_service = loans.filter(pl.col("start_date") <= end, pl.col("end_date").is_null() | (pl.col("end_date") > end))
    return {
        "provided_in_period": {"total": provided.height, "by_type": _counts(provided, "device_type"),
                               "by_recipient": _counts(provided, "recipient_type")},
        "in_service_at_end": {"total": in_service.height, "by_type": _counts(in_service, "device_type")},
    }


def need_figures(needs: pl.DataFrame, loans: pl.DataFrame, end: dt.date) -> dict:
    """Needs identified by the end, those whose pupil had a device (lent or given) by then, and the rate."""
    identified = needs.filter(pl.col("identified_on") <= end)
    equipped = loans.filter(pl.col("recipient_type") == "eleve", pl.col("start_date") <= end)["recipient_id"]
    covered = identified.filter(pl.col("pupil_id").is_in(equipped.implode())).height
    rate = round(covered / identified.height, 4) if identified.height else 0.0
    return {"identified": identified.height, "covered": covered, "coverage_rate": rate}
