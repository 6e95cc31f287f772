"""The demo's CSV exports, written the way their sources write them, with the few bad rows real exports have.

Each writer returns what it wrote: the good rows as typed values (what ingestion must keep)
and how many rows ingestion must reject.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo.population import INCONNU, PROFILES, Population

LOAN_COLUMNS = ("loan_id", "device_serial", "device_type", "transfer", "recipient_type", "recipient_id", "uai",
                "start_date", "end_date")
NEED_COLUMNS = ("need_id", "pupil_id", "uai", "criterion", "identified_on")
REFERENCE_COLUMNS = ("uai", "name", "commune", "sector", "education_priority", "students", "commune_insee", "has_ulis",
                     "ips", "latitude", "longitude")
# The first loans export; the later one (its name sorts last) records returns and corrections.
FIRST_EXPORT_DAY = dt.date(2020, 3, 20)
LOAN_FILES = ("2020-03-20_export_prets.csv", "2020-04-09_dons_pc_recycles.csv", "2020-04-10_export_prets.csv")
NEED_FILES = ("2020-03-20_besoins_dsden92.csv", "2020-04-09_besoins_dsden92.csv")
DIRECTORY_FILE = "annuaire_ent.csv"
REFERENCE_FILE = "colleges.csv"
# Accounts missing from the directory export (closed, or not imported yet), and accounts written twice.
ACCOUNTS_LEFT_OUT = 400
ACCOUNTS_REPEATED = 20


@dataclass(frozen=True)
class CsvStyle:
    """How a source writes its CSV: separator, encoding, byte-order mark, line ends, dates, header case."""

    separator: str = ";"
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\r\n"
    date_format: str = "%d/%m/%Y"
    header_case: str = "lower"


# Spreadsheets saved in France: `;`, dd/mm/yyyy, CRLF, UTF-8 with BOM or Windows-1252.
SPREADSHEET_UTF8 = CsvStyle(bom=True)
SPREADSHEET_CP1252 = CsvStyle(encoding="cp1252", header_case="title")
SPREADSHEET_CP1252_ISO = CsvStyle(encoding="cp1252", date_format="%Y-%m-%d", header_case="upper")
ENT_EXPORT = CsvStyle(newline="\n")
OPEN_DATA = CsvStyle(separator=",", newline="\n", date_format="%Y-%m-%d")


def write_csv(path: Path, rows: pl.DataFrame, style: CsvStyle) -> None:
    """Write text columns as one CSV file in a source's style (quoting a cell only when it needs it)."""
    named = rows.rename({name: _header_name(name, style.header_case) for name in rows.columns})
    # An empty cell is written as nothing, as spreadsheets do (not as "").
    named = named.with_columns(pl.when(pl.all().cast(pl.String) != "").then(pl.all().cast(pl.String)))
    text = named.write_csv(separator=style.separator, line_terminator=style.newline, quote_style="necessary")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if style.bom else b"") + text.encode(style.encoding))


def _header_name(name: str, case: str) -> str:
    """A column name in the header's letter case (headers are matched case-insensitively)."""
    return {"lower": name.lower(), "upper": name.upper(), "title": name.capitalize()}[case]


def as_text(rows: pl.DataFrame, style: CsvStyle) -> pl.DataFrame:
    """Typed rows as the cells a source writes: dates in its format, everything else as text."""
    return rows.select(pl.col(name).dt.strftime(style.date_format) if kind == pl.Date
                       else pl.col(name).cast(pl.String) for name, kind in rows.schema.items())


def with_bad_rows(good: pl.DataFrame, bad: pl.DataFrame, after: list[int | None],
                  rng: np.random.Generator) -> pl.DataFrame:
    """Text rows with bad ones slipped in: after a given good row (a repeated id), else anywhere."""
    places = [position if position is not None else int(rng.integers(0, max(good.height, 1))) for position in after]
    # Bad rows go between good rows, in their own order when several share a place.
    between = pl.Series(places, dtype=pl.Float64) + 0.5 + pl.int_range(pl.len()) / (2 * max(bad.height, 1))
    placed_good = good.with_columns(place=pl.int_range(pl.len()).cast(pl.Float64))
    order = pl.concat([placed_good, bad.with_columns(place=between)], how="vertical_relaxed")
    return order.sort("place", maintain_order=True).drop("place")


def write_reference(raw_dir: Path, population: Population) -> str:
    """The public collèges as the contract's reference CSV (open data: `,`, UTF-8, ISO)."""
    relative = f"reference/{REFERENCE_FILE}"
    write_csv(raw_dir / relative, population.colleges.select(REFERENCE_COLUMNS), OPEN_DATA)
    return relative


def random_logins(population: Population, rng: np.random.Generator, count: int) -> list[str]:
    """Logins of pupils drawn at random, for the bad rows of the exports."""
    first, stop = population.profile_ranges[0]
    return population.users["login"].gather(rng.integers(first, stop, count)).to_list()


def write_directory(raw_dir: Path, population: Population, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
    """The ENT directory; returns each account's profile as ingestion must see it, the rejects and the file.

    A few accounts are missing from it (closed or not yet imported: `inconnu` in the figures); one is
    written with a profile word the contract does not know, so it is rejected and `inconnu` too. Some
    accounts are written twice, the second time with another profile: the first row holds.
    """
    users = population.users.with_row_index("user").with_columns(
        uai=population.colleges["uai"].gather(population.college),
        profile_name=pl.Series(PROFILES).gather(population.users["profile"].cast(pl.Int64)))
    left_out = rng.choice(users.height, size=ACCOUNTS_LEFT_OUT + 1, replace=False)
    good = users.filter(~pl.col("user").is_in(left_out.tolist())).sort("uai", "profile", "login")
    repeated = np.sort(rng.choice(good.height, size=min(good.height, ACCOUNTS_REPEATED), replace=False))
    text = good.select(user_id="login", profile="profile_name", uai="uai", classe="classe")
    other_profile = pl.when(pl.col("profile") == "parent").then(pl.lit("enseignant")).otherwise(pl.lit("parent"))
    unknown_word = users.filter(pl.col("user") == int(left_out[0]))
    bad = pl.concat([
        text[repeated].with_columns(profile=other_profile),
        unknown_word.select(user_id="login", profile=pl.lit("administrateur"), uai="uai", classe="classe"),
        pl.DataFrame({"user_id": [""], "profile": ["eleve"], "uai": [text["uai"][0]], "classe": ["4e B"]}),
    ])
    relative = f"directory/{DIRECTORY_FILE}"
    write_csv(raw_dir / relative, with_bad_rows(text, bad, [*repeated.tolist(), None, None], rng), ENT_EXPORT)
    profile = np.full(users.height, INCONNU, dtype=np.int8)
    profile[good["user"].to_numpy()] = good["profile"].to_numpy()
    return profile, bad.height, relative


def bad_need_rows(logins: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows each needs export must reject: an unknown criterion; an impossible date, a missing pupil."""
    columns = list(NEED_COLUMNS)
    first = pl.DataFrame([("BES-0921589C-9001", logins[0], "0921589C", "handicap", "17/03/2020")],
                         schema=columns, orient="row")
    later = pl.DataFrame([("BES-0921159K-9002", logins[1], "0921159K", "boursier", "31/04/2020"),
                          ("BES-0921159K-9003", "", "0921159K", "autre", "02/04/2020")], schema=columns, orient="row")
    return first, later


def write_needs(raw_dir: Path, needs: pl.DataFrame, population: Population,
                rng: np.random.Generator) -> tuple[pl.DataFrame, int, list[str]]:
    """The needs identified by the Éducation nationale in two exports (up to 20 March, then after).

    The later one names the collège in an extra column. Returns the good rows (typed), the rejects, the files.
    """
    typed = needs.select("need_id", pupil_id="login", uai="uai", criterion="criterion", identified_on="identified_on")
    first_bad, later_bad = bad_need_rows(random_logins(population, rng, 2))
    first = as_text(typed.filter(pl.col("identified_on") <= FIRST_EXPORT_DAY), SPREADSHEET_UTF8)
    later = as_text(typed.filter(pl.col("identified_on") > FIRST_EXPORT_DAY), SPREADSHEET_CP1252)
    repeated = int(rng.integers(0, first.height))
    first_rows = with_bad_rows(first, pl.concat([first_bad, first[repeated]]), [None, repeated], rng)
    names = population.colleges.select("uai", etablissement="name")
    later_rows = with_bad_rows(later, later_bad, [None, None], rng).join(names, on="uai", how="left",
                                                                         maintain_order="left")
    files = [f"needs/{name}" for name in NEED_FILES]
    write_csv(raw_dir / files[0], first_rows, SPREADSHEET_UTF8)
    write_csv(raw_dir / files[1], later_rows, SPREADSHEET_CP1252)
    return typed, first_bad.height + 1 + later_bad.height, files


def loan_history(loans: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The rows of the three loan exports (typed): as known on 20 March with a few slips, the gifts, the update.

    The update holds every loan started after 20 March, every earlier one returned since, and the
    corrected rows of the slips: once it wins, the exports say exactly the final state.
    """
    typed = loans.select(LOAN_COLUMNS)
    lent = typed.filter(pl.col("transfer") == "pret")
    known = pl.col("end_date") <= FIRST_EXPORT_DAY
    first = lent.filter(pl.col("start_date") <= FIRST_EXPORT_DAY).with_columns(end_date=pl.when(known).then("end_date"))
    slips = rng.choice(first.height, size=min(first.height, max(3, round(first.height * 0.01))), replace=False)
    first = with_slips(first, slips.tolist())
    corrected = first[sorted(slips.tolist())]["loan_id"].implode()
    update = lent.filter((pl.col("start_date") > FIRST_EXPORT_DAY) | (pl.col("end_date") > FIRST_EXPORT_DAY)
                         | pl.col("loan_id").is_in(corrected))
    return first, typed.filter(pl.col("transfer") == "don"), update


def with_slips(rows: pl.DataFrame, slips: list[int]) -> pl.DataFrame:
    """Typing slips in some rows, by turns: a serial with a digit too many, another collège, the day after."""
    row = pl.int_range(pl.len())
    slip = row.is_in(slips)
    other_college = pl.when(pl.col("uai") == "0921170X").then(pl.lit("0921243B")).otherwise(pl.lit("0921170X"))
    return rows.with_columns(
        device_serial=pl.when(slip & (row % 3 == 0)).then(pl.col("device_serial") + "0").otherwise("device_serial"),
        uai=pl.when(slip & (row % 3 == 1)).then(other_college).otherwise("uai"),
        start_date=pl.when(slip & (row % 3 == 2)).then(pl.col("start_date") + dt.timedelta(days=1))
        .otherwise("start_date"))


def bad_loan_rows(logins: list[str], uais: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rows each loan export must reject: a bad date, unknown words, a missing key, an end before its start."""
    def rows(values: list[tuple[str, ...]]) -> pl.DataFrame:
        """Text rows of the loans layout."""
        return pl.DataFrame(values, schema=list(LOAN_COLUMNS), orient="row")

    who = list(zip(logins, uais))
    first = rows([("PRT-20-900001", "5CG0990001", "ultraportable", "pret", "enseignant", *who[0], "31/02/2020", ""),
                  ("PRT-20-900002", "R58N0990002", "ordinateur", "pret", "eleve", *who[1], "18/03/2020", "")])
    gifts = rows([("DON-20-90001", "EMB-0990001", "pc_recycle", "don", "eleve", *who[2], "2020-04-31", ""),
                  ("DON-20-90002", "EMB-0990002", "pc_recycle", "don", "eleve", "", uais[3], "2020-04-06", "")])
    update = rows([("PRT-20-900003", "5CG0990003", "ultraportable", "pret", "eleve", *who[3], "02/04/2020",
                    "28/03/2020"),
                   ("PRT-20-900004", "R58N0990004", "tablette", "location", "eleve", *who[4], "30/03/2020", ""),
                   ("PRT-20-900005", "R58N0990005", "tablette", "pret", "famille", *who[5], "31/03/2020", ""),
                   ("", "R58N0990006", "tablette", "pret", "eleve", *who[6], "03/04/2020", "")])
    return first, gifts, update


def write_loans(raw_dir: Path, loans: pl.DataFrame, population: Population,
                rng: np.random.Generator) -> tuple[pl.DataFrame, int, list[str]]:
    """The three loan exports; returns their good rows (typed, with the file they come from) and the rejects.

    The spreadsheet exports repeat one loan id (a row typed in twice): the first row holds.
    """
    histories = loan_history(loans, rng)
    picks = rng.integers(0, population.colleges.height, 7)
    bad_rows = bad_loan_rows(random_logins(population, rng, 7), population.colleges["uai"].gather(picks).to_list())
    styles = (SPREADSHEET_UTF8, SPREADSHEET_CP1252_ISO, SPREADSHEET_CP1252)
    good_rows, rejected = [], 0
    for name, typed, bad, style in zip(LOAN_FILES, histories, bad_rows, styles):
        text, after = as_text(typed, style), [None] * bad.height
        if style is not SPREADSHEET_CP1252_ISO:
            repeated = int(rng.integers(0, text.height))
            bad = pl.concat([bad, text[repeated].with_columns(device_serial=pl.lit("SANS-NUMERO"))])
            after.append(repeated)
        rows = with_bad_rows(text, bad, after, rng)
        if style.encoding == "cp1252":
            rows = rows.with_columns(commentaire=_loan_comments(style))
        write_csv(raw_dir / "loans" / name, rows, style)
        good_rows.append(typed.with_columns(source_file=pl.lit(f"loans/{name}")))
        rejected += bad.height
    return pl.concat(good_rows), rejected, [f"loans/{name}" for name in LOAN_FILES]


def _loan_comments(style: CsvStyle) -> pl.Expr:
    """The free-text column the spreadsheet exports carry (accented: it tells Windows-1252 from UTF-8)."""
    if style is SPREADSHEET_CP1252_ISO:
        return pl.lit("PC reconditionné (Emmaüs Connect)")
    return pl.when(pl.col("end_date") != "").then(pl.lit("Restitué : écran à remplacer")).otherwise(pl.lit(""))
