"""Devices lent and given, and the pupils identified as needing one: the press release's counts, at every scale.

The tables here are the true final state: what the exports say once the later loans export
has updated the earlier one. `exports.py` writes them (with their history and a few bad rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.demo.population import ELEVE, ENSEIGNANT, Population


@dataclass(frozen=True)
class Batch:
    """One line of the press release: devices of a type, lent or given to a kind of recipient, over some days."""

    name: str
    devices: int
    device_type: str
    transfer: str
    recipient_type: str
    first_day: dt.date
    last_day: dt.date
    criteria: tuple[str, ...]


DAY = dt.date
BATCHES = (
    Batch("teachers", 4_000, "ultraportable", "pret", "enseignant", DAY(2020, 1, 13), DAY(2020, 3, 13), ()),
    Batch("tablets", 2_600, "tablette", "pret", "eleve", DAY(2020, 3, 17), DAY(2020, 4, 3),
          ("ulis", "rep", "boursier")),
    Batch("child_welfare", 600, "tablette", "pret", "eleve", DAY(2020, 3, 20), DAY(2020, 3, 31), ("ase",)),
    Batch("families", 2_000, "ultraportable", "pret", "eleve", DAY(2020, 3, 23), DAY(2020, 4, 9), ("rep", "boursier")),
    Batch("first_gifts", 30, "pc_recycle", "don", "eleve", DAY(2020, 3, 25), DAY(2020, 3, 27), ("boursier", "autre")),
    Batch("gifts", 2_000, "pc_recycle", "don", "eleve", DAY(2020, 4, 1), DAY(2020, 4, 9), ("boursier", "autre")),
)
# Needs identified by the Éducation nationale: (criterion, pupils, first day, last day).
# REP+ then REP collèges come first; ULIS pupils are all identified.
NEEDS = (
    ("ulis", None, dt.date(2020, 3, 16), dt.date(2020, 3, 17)),
    ("rep", 2_000, dt.date(2020, 3, 16), dt.date(2020, 3, 20)),
    ("ase", 650, dt.date(2020, 3, 18), dt.date(2020, 3, 20)),
    ("boursier", 3_400, dt.date(2020, 3, 23), dt.date(2020, 4, 3)),
    ("autre", 1_500, dt.date(2020, 3, 25), dt.date(2020, 4, 8)),
)
PRIORITY_RANK = {"REP+": 0, "REP": 1}
# Share of a batch's devices that go to pupils the collège found itself (no need recorded).
UNRECORDED_SHARE = 0.03
RETURN_SHARE = 0.015


def pupils_table(population: Population) -> pl.DataFrame:
    """Every pupil account with its collège's UAI and education priority, and whether it is in a ULIS."""
    colleges = population.colleges.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("college"), "uai", "education_priority")
    pupils = population.users.with_row_index("user").filter(pl.col("profile") == ELEVE)
    pupils = pupils.with_columns(pl.col("college").cast(pl.Int64))
    return pupils.join(colleges, on="college", how="left", maintain_order="left").select(
        pl.col("user").cast(pl.Int64), "login", "uai", "education_priority", (pl.col("classe") == "ULIS").alias("ulis"))


def draw_days(rng: np.random.Generator, count: int, first: dt.date, last: dt.date,
              weekdays_only: bool = False) -> list[dt.date]:
    """Days drawn uniformly between two dates (both included), optionally Monday to Friday only."""
    days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    if weekdays_only:
        days = [day for day in days if day.weekday() < 5]
    return [days[index] for index in rng.integers(0, len(days), count)]


def build_needs(population: Population, rng: np.random.Generator) -> pl.DataFrame:
    """Pupils identified as needing a device: one need per pupil, with criterion and date."""
    pupils = pupils_table(population).with_columns(
        rank=pl.col("education_priority").replace_strict(PRIORITY_RANK, default=2, return_dtype=pl.Int8),
        draw=pl.Series(rng.random(population.profile_ranges[ELEVE][1])))
    taken = pl.Series("user", [], dtype=pl.Int64)
    parts = []
    for criterion, wanted, first, last in NEEDS:
        pool = pupils.filter(~pl.col("user").is_in(taken.implode()))
        pool = _need_pool(pool, criterion, wanted)
        days = sorted(draw_days(rng, pool.height, first, last))
        parts.append(pool.with_columns(criterion=pl.lit(criterion), identified_on=pl.Series(days, dtype=pl.Date)))
        taken = pl.concat([taken, pool["user"]])
    needs = pl.concat(parts).sort("identified_on", "rank", "draw")
    number = pl.int_range(1, pl.len() + 1).over("uai").cast(pl.String).str.zfill(4)
    return needs.with_columns(need_id=pl.concat_str(pl.lit("BES-"), "uai", pl.lit("-"), number)).select(
        "need_id", "user", "login", "uai", "criterion", "identified_on", "rank")


def _need_pool(pool: pl.DataFrame, criterion: str, wanted: int | None) -> pl.DataFrame:
    """The pupils of one criterion: all ULIS pupils, REP+/REP pupils first for `rep`, others at random."""
    if criterion == "ulis":
        return pool.filter(pl.col("ulis"))
    pool = pool.filter(~pl.col("ulis"))
    if criterion == "rep":
        pool = pool.filter(pl.col("rank") < 2)
    elif criterion == "boursier":
        pool = pool.filter(pl.col("rank") == 2)
    return pool.sort("rank", "draw").head(min(pool.height, wanted or 0))


def teacher_loans(population: Population, batch: Batch, rng: np.random.Generator) -> pl.DataFrame:
    """Ultraportables lent to teachers before the lockdown (weekdays of the batch's window)."""
    start, stop = population.profile_ranges[ENSEIGNANT]
    count = min(stop - start, batch.devices)
    users = np.sort(rng.choice(np.arange(start, stop), size=count, replace=False))
    uai = population.colleges["uai"].gather(population.college[users])
    days = draw_days(rng, count, batch.first_day, batch.last_day, weekdays_only=True)
    return pl.DataFrame({"user": users.astype(np.int64), "uai": uai, "start_date": pl.Series(days, dtype=pl.Date)})


def pupil_batch(pupils: pl.DataFrame, needs: pl.DataFrame, batch: Batch, count: int,
                rng: np.random.Generator) -> pl.DataFrame:
    """The pupils a batch equips: needs of its criteria first (ULIS, then by date and priority), then others."""
    recorded = count - round(count * UNRECORDED_SHARE)
    candidates = needs.filter(pl.col("criterion").is_in(batch.criteria), pl.col("identified_on") < batch.last_day,
                              ~pl.col("equipped"))
    candidates = candidates.sort(pl.col("criterion") != "ulis", "identified_on", "rank", "need_id").head(recorded)
    delay = pl.Series(rng.integers(1, 7, candidates.height)).cast(pl.Duration("ms")) * 86_400_000
    with_need = candidates.select("user", "uai", start_date=pl.max_horizontal(
        pl.lit(batch.first_day), pl.col("identified_on") + delay).clip(upper_bound=batch.last_day))
    others = pupils.filter(~pl.col("equipped"), ~pl.col("user").is_in(needs["user"].implode()))
    others = others.sample(min(others.height, count - with_need.height), seed=int(rng.integers(1 << 31)))
    days = pl.Series(draw_days(rng, others.height, batch.first_day, batch.last_day), dtype=pl.Date)
    return pl.concat([with_need, others.select("user", "uai", start_date=days)])


def build_loans(population: Population, needs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Every device lent or given, in its final state: one row per loan or gift, returns included."""
    pupils = pupils_table(population).with_columns(equipped=pl.lit(False))
    needs = needs.with_columns(equipped=pl.lit(False))
    parts = []
    for batch in BATCHES:
        if batch.recipient_type == "enseignant":
            equipped = teacher_loans(population, batch, rng)
        else:
            count = batch.devices
            if batch.name == "tablets":
                count = max(count, int(pupils["ulis"].sum()) + 1)
            equipped = pupil_batch(pupils, needs, batch, count, rng)
            done = equipped["user"].implode()
            pupils = pupils.with_columns(equipped=pl.col("equipped") | pl.col("user").is_in(done))
            needs = needs.with_columns(equipped=pl.col("equipped") | pl.col("user").is_in(done))
        parts.append(equipped.with_columns(batch=pl.lit(batch.name), device_type=pl.lit(batch.device_type),
                                           transfer=pl.lit(batch.transfer),
                                           recipient_type=pl.lit(batch.recipient_type)))
    loans = pl.concat(parts).sort("start_date", "batch", "user")
    logins = population.users["login"]
    loans = loans.with_columns(recipient_id=logins.gather(loans["user"]))
    return with_returns(with_identifiers(loans), rng)


def with_identifiers(loans: pl.DataFrame) -> pl.DataFrame:
    """Loan ids numbered by transfer (PRT-20-000001, DON-20-00001) and device serials by type."""
    number = pl.int_range(1, pl.len() + 1).over("transfer").cast(pl.String)
    loan_id = pl.when(pl.col("transfer") == "don").then(pl.concat_str(pl.lit("DON-20-"), number.str.zfill(5))) \
        .otherwise(pl.concat_str(pl.lit("PRT-20-"), number.str.zfill(6)))
    serial_number = pl.int_range(10_001, pl.len() + 10_001).over("device_type").cast(pl.String)
    prefix = pl.col("device_type").replace_strict({"ultraportable": "5CG0", "tablette": "R58N", "pc_recycle": "EMB-"})
    return loans.with_columns(loan_id=loan_id, device_serial=pl.concat_str(prefix, serial_number.str.zfill(7)))


def with_returns(loans: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A few lent devices came back (broken, swapped): an end date up to the day after the data (10 April)."""
    lent = np.flatnonzero((loans["transfer"] == "pret").to_numpy())
    count = max(2, round(len(lent) * RETURN_SHARE))
    returned = np.sort(rng.choice(lent, size=min(count, len(lent)), replace=False))
    starts = loans["start_date"].gather(returned).to_list()
    returns_day = dt.date(2020, 4, 10)
    ends = [max(start, dt.date(2020, 3, 2)) + dt.timedelta(days=int(rng.integers(1, 30))) for start in starts]
    # The last one comes back on 10 April: still in service at the end of 9 April.
    ends = [min(end, returns_day) for end in ends[:-1]] + [returns_day]
    end_date = pl.Series([None] * loans.height, dtype=pl.Date).scatter(returned, pl.Series(ends, dtype=pl.Date))
    return loans.with_columns(end_date=end_date).select(
        "loan_id", "device_serial", "device_type", "transfer", "recipient_type", "recipient_id", "user", "uai",
        "start_date", "end_date", "batch")
