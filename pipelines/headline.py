"""The press figures of a period, from the marts: one dict, rendered as text, Markdown, JSON or CSV.

`headline_figures` is the single source of these numbers; the CLI and the press
dashboard both call it. `by_type` and `by_recipient` list the words that occur
in the rows they count: the devices provided in the period for
`provided_in_period`, the devices in service at its end for `in_service_at_end`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

import duckdb

from pipelines import french
from pipelines.errors import UserError
from pipelines.settings import Settings

MARTS = ("fct_visits", "fct_visitor_days", "fct_space_days", "fct_devices", "fct_needs")  # the marts read here
PROFILES = ("eleve", "enseignant", "parent", "personnel", "anonyme", "inconnu")
FORMATS = ("text", "markdown", "json", "csv")
PROFILE_FIGURES = ("visits", "page_views", "unique_visitors")


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse, which must hold the marts the headline reads."""
    path = settings.warehouse_dir / "ent.duckdb"
    if not path.is_file():
        raise UserError(f"no warehouse in {settings.warehouse_dir}: run `ent-analytics run` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise UserError(f"cannot open the warehouse {path}: {str(error).splitlines()[0]}") from None
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    missing = [name for name in MARTS if name not in present]
    if missing:
        con.close()
        raise UserError(f"the warehouse {path} lacks marts.{missing[0]}: run `ent-analytics run` first")
    return con


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    """The first and last local day with a visit: the whole data."""
    first, last = con.execute("select min(local_day), max(local_day) from marts.fct_visits").fetchone()
    if first is None:
        raise UserError("the warehouse holds no visit yet: add access logs to raw/logs/ and run `ent-analytics run`")
    return first, last


def resolve_period(con: duckdb.DuckDBPyConnection, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked for, its missing ends taken from the data; it must overlap the data."""
    if start is not None and end is not None and end < start:
        raise UserError(f"the end date {end} is before the start date {start}")
    first, last = data_span(con)
    start, end = start or first, end or last
    if start > last or end < first:
        raise UserError(f"the period {start} to {end} is outside the data, which covers {first} to {last}")
    return start, end


def _usage(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict:
    """Visits, page views, unique visitors and collaborative spaces used in the period."""
    visits, page_views = con.execute(
        "select count(*), coalesce(sum(page_views), 0)::bigint from marts.fct_visits"
        " where local_day between ? and ?", [start, end]).fetchone()
    (visitors,) = con.execute(
        "select count(distinct visitor_key) from marts.fct_visitor_days where local_day between ? and ?",
        [start, end]).fetchone()
    (spaces,) = con.execute(
        "select count(distinct space_id) from marts.fct_space_days where local_day between ? and ?",
        [start, end]).fetchone()
    return {"visits": visits, "page_views": page_views, "unique_visitors": visitors,
            "collaborative_spaces_used": spaces}


def _counts_by(con: duckdb.DuckDBPyConnection, column: str, condition: str, params: list) -> dict[str, int]:
    """Devices per value of one column among the rows meeting a condition, in alphabetical order."""
    rows = con.execute(
        f"select {column}, count(*) from marts.fct_devices where {condition} group by all order by 1", params
    ).fetchall()
    return {word: count for word, count in rows}


def _devices(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict:
    """Loans and gifts started in the period, and those in service at its end."""
    provided = "start_date between ? and ?"
    in_service = "start_date <= ? and (end_date is null or end_date > ?)"
    by_type = _counts_by(con, "device_type", provided, [start, end])
    in_service_by_type = _counts_by(con, "device_type", in_service, [end, end])
    return {
        "provided_in_period": {"total": sum(by_type.values()), "by_type": by_type,
                               "by_recipient": _counts_by(con, "recipient_type", provided, [start, end])},
        "in_service_at_end": {"total": sum(in_service_by_type.values()), "by_type": in_service_by_type},
    }


def _needs(con: duckdb.DuckDBPyConnection, end: dt.date) -> dict:
    """Needs identified by the end, those whose pupil had a device by then, and the rate."""
    identified, covered = con.execute(
        "select count(*), count(*) filter (where first_equipped_on <= ?) from marts.fct_needs"
        " where identified_on <= ?", [end, end]).fetchone()
    rate = round(covered / identified, 4) if identified else 0.0
    return {"identified": identified, "covered": covered, "coverage_rate": rate}


def _colleges_all_covered(con: duckdb.DuckDBPyConnection, end: dt.date) -> dict:
    """Collèges with needs identified by the end, and how many have every one of them covered."""
    covered, with_needs = con.execute(
        "select count(*) filter (where all_covered), count(*) from ("
        "  select uai, bool_and(coalesce(first_equipped_on <= ?, false)) as all_covered"
        "  from marts.fct_needs where identified_on <= ? and uai is not null group by uai)", [end, end]).fetchone()
    share = round(covered / with_needs, 4) if with_needs else 0.0
    return {"count": covered, "colleges_with_needs": with_needs, "share": share}


def _by_profile(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict:
    """Visits, page views and unique visitors of each profile; the six profiles always, others when they occur."""
    visits = con.execute(
        "select profile, count(*), coalesce(sum(page_views), 0)::bigint from marts.fct_visits"
        " where local_day between ? and ? group by all", [start, end]).fetchall()
    visitors = dict(con.execute(
        "select profile, count(distinct visitor_key) from marts.fct_visitor_days"
        " where local_day between ? and ? group by all", [start, end]).fetchall())
    figures = {profile: {"visits": 0, "page_views": 0, "unique_visitors": 0} for profile in PROFILES}
    for profile, count, page_views in visits:
        figures[profile] = {"visits": count, "page_views": page_views, "unique_visitors": visitors.get(profile, 0)}
    return figures


def headline_figures(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict:
    """The press figures of a period (both ends included), in the contract's JSON shape plus a few keys."""
    (data_date,) = con.execute("select max(local_day) from marts.fct_visits").fetchone()
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        **_usage(con, start, end),
        "devices": _devices(con, start, end),
        "needs": _needs(con, end),
        "by_profile": _by_profile(con, start, end),
        "colleges_with_all_needs_covered": _colleges_all_covered(con, end),
        "data_date": data_date.isoformat() if data_date else None,
    }


def _flatten(figures: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Every figure of the nested dict as (dotted key, value)."""
    rows = []
    for key, value in figures.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((prefix + key, value))
    return rows


def headline_csv(figures: dict) -> str:
    """The figures as CSV, one row per figure: figure, value, period_start, period_end, data_date."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["figure", "value", "period_start", "period_end", "data_date"])
    period = figures["period"]
    for key, value in _flatten({k: v for k, v in figures.items() if k not in ("period", "data_date")}):
        writer.writerow([key, value, period["start"], period["end"], figures["data_date"]])
    return buffer.getvalue()


# ---- Wording for people -------------------------------------------------------------------------

WORDS = {
    "fr": {
        "title": "L'ENT des collèges en chiffres, {period}",
        "data_date": "Données arrêtées au {date}.",
        "source": "Source : journaux d'accès et exports de l'ENT, données arrêtées au {date}.",
        "at": "au {date}",
        "visits": ("visite", "visites"),
        "page_views": ("page vue", "pages vues"),
        "unique_visitors": ("visiteur unique", "visiteurs uniques"),
        "collaborative_spaces_used": ("espace collaboratif utilisé", "espaces collaboratifs utilisés"),
        "provided": ("équipement remis", "équipements remis"),
        "in_service": ("équipement en service", "équipements en service"),
        "device_type": {"ultraportable": ("ultraportable", "ultraportables"), "tablette": ("tablette", "tablettes"),
                        "pc_recycle": ("PC reconditionné", "PC reconditionnés")},
        "recipient": {"eleve": "{n} à des élèves", "enseignant": "{n} à des enseignants"},
        "coverage": ("{rate} des besoins en équipement couverts", " {at} ({covered} sur {identified})"),
        "needs": ("besoin identifié", "besoins identifiés"),
        "no_needs": "Aucun besoin d'équipement identifié {at}",
        "colleges": ("{count} sur {total}", " ({share}) : tous les besoins en équipement couverts {at}"),
        "college": ("collège", "collèges"),
        "definitions": {
            "visits": "Une visite est une suite de pages vues par un même visiteur, dans une même journée,"
                      " sans pause de plus de {timeout} minutes.",
            "page_views": "Une page vue est une page de l'ENT affichée avec succès, hors fichiers techniques,"
                          " appels d'API et robots.",
            "unique_visitors": "Chaque visiteur compte une fois sur la période : par son identifiant ENT ou,"
                               " sans connexion, par son adresse et son navigateur.",
            "collaborative_spaces_used": "Un espace collaboratif compte dès qu'une de ses pages a été vue"
                                         " pendant la période.",
            "provided": "Ordinateurs et tablettes prêtés ou donnés dont la remise date de la période.",
            "in_service": "Équipements remis au plus tard ce jour-là et pas encore rendus (un don n'est jamais rendu).",
            "coverage": "Un besoin est couvert quand l'élève identifié a reçu un équipement en prêt ou en don"
                        " au plus tard ce jour-là.",
            "colleges": "Parmi les collèges ayant des élèves identifiés comme ayant besoin d'un équipement,"
                        " ceux dont chacun de ces élèves en a reçu un.",
        },
        "profiles_title": "Visites et pages vues par profil, {period}",
        "profile_columns": ("Profil", "Visites", "Pages vues", "Visiteurs uniques"),
        "profile_nouns": (("visite", "visites"), ("page vue", "pages vues"), ("visiteur unique", "visiteurs uniques")),
        "profiles": {"eleve": "élèves", "enseignant": "enseignants", "parent": "parents", "personnel": "personnels",
                     "anonyme": "anonymes (sans connexion)", "inconnu": "inconnus (identifiant absent de l'annuaire)"},
    },
    "en": {
        "title": "The collèges' ENT in figures, {period}",
        "data_date": "Data up to {date}.",
        "source": "Source: the ENT's access logs and exports, data up to {date}.",
        "at": "on {date}",
        "visits": ("visit", "visits"),
        "page_views": ("page view", "page views"),
        "unique_visitors": ("unique visitor", "unique visitors"),
        "collaborative_spaces_used": ("collaborative space used", "collaborative spaces used"),
        "provided": ("device provided", "devices provided"),
        "in_service": ("device in service", "devices in service"),
        "device_type": {"ultraportable": ("ultraportable laptop", "ultraportable laptops"),
                        "tablette": ("tablet", "tablets"), "pc_recycle": ("refurbished PC", "refurbished PCs")},
        "recipient": {"eleve": "{n} to pupils", "enseignant": "{n} to teachers"},
        "coverage": ("{rate} of the equipment needs covered", " {at} ({covered} out of {identified})"),
        "needs": ("identified need", "identified needs"),
        "no_needs": "No equipment need identified {at}",
        "colleges": ("{count} out of {total}", " ({share}): all equipment needs covered {at}"),
        "college": ("collège", "collèges"),
        "definitions": {
            "visits": "A visit is a run of page views by one visitor, within one day, with no pause longer"
                      " than {timeout} minutes.",
            "page_views": "A page view is an ENT page served successfully, excluding technical files, API calls"
                          " and robots.",
            "unique_visitors": "Each visitor counts once over the period: by ENT login or, without login, by"
                               " address and browser.",
            "collaborative_spaces_used": "A collaborative space counts once any of its pages was viewed during"
                                         " the period.",
            "provided": "Computers and tablets lent or given whose hand-over falls within the period.",
            "in_service": "Devices handed over by that day and not yet returned (a gift is never returned).",
            "coverage": "A need is covered once the pupil identified has been lent or given a device, by that day.",
            "colleges": "Among the collèges with pupils identified as needing a device, those where every such"
                        " pupil has received one.",
        },
        "profiles_title": "Visits and page views by profile, {period}",
        "profile_columns": ("Profile", "Visits", "Page views", "Unique visitors"),
        "profile_nouns": (("visit", "visits"), ("page view", "page views"), ("unique visitor", "unique visitors")),
        "profiles": {"eleve": "pupils", "enseignant": "teachers", "parent": "parents", "personnel": "staff",
                     "anonyme": "anonymous (not logged in)", "inconnu": "unknown (login not in the directory)"},
    },
}


@dataclass(frozen=True)
class Statement:
    """One figure for people: its counted phrase (bold in Markdown), the rest of the sentence, its definition."""

    figure: str
    rest: str
    definition: str


def _cell(count: int, lang: str, threshold: int) -> str:
    """A cell of the profile breakdown, hidden as "< threshold" when so few that it could point at someone."""
    return f"< {threshold}" if 0 < count < threshold else french.format_int(count, lang)


def _device_breakdown(devices: dict, lang: str) -> str:
    """The breakdown after a device count, such as ': 3 tablettes ; 3 à des élèves' (empty when none)."""
    words = WORDS[lang]
    types = [f"{french.format_int(n, lang)} {french.noun_for(n, *words['device_type'].get(word, (word, word)), lang)}"
             for word, n in devices["by_type"].items()]
    recipients = [words["recipient"].get(word, "{n} " + word).format(n=french.format_int(n, lang))
                  for word, n in devices.get("by_recipient", {}).items()]
    parts = [french.join_words(group, lang) for group in (types, recipients) if group]
    if not parts:
        return ""
    return " : " + " ; ".join(parts) if lang == "fr" else ": " + "; ".join(parts)


def _usage_statements(figures: dict, lang: str, timeout: int) -> list[Statement]:
    """The four audience figures of the period."""
    words, period = WORDS[lang], _period(figures, lang)
    return [
        Statement(french.press_count(figures[key], *words[key], lang), f" {period}",
                  words["definitions"][key].format(timeout=timeout))
        for key in ("visits", "page_views", "unique_visitors", "collaborative_spaces_used")
    ]


def _equipment_statements(figures: dict, lang: str) -> list[Statement]:
    """Devices provided, devices in service, needs covered and collèges fully covered."""
    words, devices, needs = WORDS[lang], figures["devices"], figures["needs"]
    at = words["at"].format(date=french.format_date(_day(figures["period"]["end"]), lang))
    provided, in_service = devices["provided_in_period"], devices["in_service_at_end"]
    statements = [
        Statement(french.press_count(provided["total"], *words["provided"], lang),
                  f" {_period(figures, lang)}{_device_breakdown(provided, lang)}",
                  words["definitions"]["provided"]),
        Statement(french.press_count(in_service["total"], *words["in_service"], lang),
                  f" {at}{_device_breakdown(in_service, lang)}", words["definitions"]["in_service"]),
    ]
    if not needs["identified"]:
        return statements + [Statement(words["no_needs"].format(at=at), "", words["definitions"]["coverage"])]
    figure, rest = words["coverage"]
    statements.append(Statement(
        figure.format(rate=french.format_percent(needs["coverage_rate"], lang)),
        rest.format(at=at, covered=french.press_number(needs["covered"], lang),
                    identified=french.press_count(needs["identified"], *words["needs"], lang)),
        words["definitions"]["coverage"]))
    colleges, (figure, rest) = figures["colleges_with_all_needs_covered"], words["colleges"]
    statements.append(Statement(
        figure.format(count=french.press_count(colleges["count"], *words["college"], lang),
                      total=french.format_int(colleges["colleges_with_needs"], lang)),
        rest.format(share=french.format_percent(colleges["share"], lang), at=at),
        words["definitions"]["colleges"]))
    return statements


def _day(iso: str) -> dt.date:
    """A date of the figures' dict (ISO text) as a date."""
    return dt.date.fromisoformat(iso)


def _period(figures: dict, lang: str) -> str:
    """The figures' period in words."""
    return french.format_period(_day(figures["period"]["start"]), _day(figures["period"]["end"]), lang)


def _capitalised(text: str) -> str:
    """The text with its first letter in upper case, the rest untouched ("ENT" stays)."""
    return text[:1].upper() + text[1:]


def _profile_rows(figures: dict, lang: str, threshold: int) -> list[tuple[str, str, str, str]]:
    """(profile label, visits, page views, unique visitors) of each profile, small cells hidden."""
    labels = WORDS[lang]["profiles"]
    return [(labels.get(profile, profile), *(_cell(row[key], lang, threshold) for key in PROFILE_FIGURES))
            for profile, row in figures["by_profile"].items()]


def _profile_line(row: dict, lang: str, threshold: int) -> str:
    """One profile's figures in words, such as '2 visites, 6 pages vues, < 5 visiteurs uniques'."""
    parts = []
    for key, (singular, plural) in zip(PROFILE_FIGURES, WORDS[lang]["profile_nouns"]):
        count = row[key]
        hidden = 0 < count < threshold  # "< 5" stands for several
        noun = plural if hidden else french.noun_for(count, singular, plural, lang)
        parts.append(f"{_cell(count, lang, threshold)} {noun}")
    return ", ".join(parts)


def render_text(figures: dict, lang: str, settings: Settings) -> str:
    """The figures as plain text for people: each with its period and definition, then profiles."""
    words = WORDS[lang]
    data_date = french.format_date(_day(figures["data_date"]), lang)
    lines = [words["title"].format(period=_period(figures, lang)), words["data_date"].format(date=data_date), ""]
    statements = _usage_statements(figures, lang, settings.visit_timeout_minutes)
    statements += _equipment_statements(figures, lang)
    for statement in statements:
        lines += [f"- {_capitalised(statement.figure)}{statement.rest}.", f"  {statement.definition}"]
    lines += ["", words["profiles_title"].format(period=_period(figures, lang)) + (" :" if lang == "fr" else ":")]
    for profile, row in figures["by_profile"].items():
        line = _profile_line(row, lang, settings.small_count_threshold)
        lines.append(f"- {words['profiles'].get(profile, profile)}{' : ' if lang == 'fr' else ': '}{line}")
    lines += ["", words["source"].format(date=data_date)]
    return "\n".join(lines)


def render_markdown(figures: dict, lang: str, settings: Settings) -> str:
    """The figures as Markdown: a title, one bullet per figure with its definition, a table of profiles."""
    words = WORDS[lang]
    data_date = french.format_date(_day(figures["data_date"]), lang)
    lines = [f"# {words['title'].format(period=_period(figures, lang))}", "",
             f"_{words['data_date'].format(date=data_date)}_", ""]
    statements = _usage_statements(figures, lang, settings.visit_timeout_minutes)
    statements += _equipment_statements(figures, lang)
    for statement in statements:
        lines.append(f"- **{_capitalised(statement.figure)}**{statement.rest}. {statement.definition}")
    lines += ["", f"## {words['profiles_title'].format(period=_period(figures, lang))}", "",
              "| " + " | ".join(words["profile_columns"]) + " |", "|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(row) + " |" for row in _profile_rows(figures, lang, settings.small_count_threshold)]
    lines += ["", words["source"].format(date=data_date)]
    return "\n".join(lines)


def render_headline(figures: dict, fmt: str, lang: str, settings: Settings) -> str:
    """The figures in one of FORMATS; text and Markdown in French or English."""
    if fmt == "json":
        return json.dumps(figures, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return headline_csv(figures)
    if lang not in french.LANGS:
        raise UserError(f"unknown language {lang!r}: choose one of {', '.join(french.LANGS)}")
    if fmt == "text":
        return render_text(figures, lang, settings)
    if fmt == "markdown":
        return render_markdown(figures, lang, settings)
    raise UserError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")


def headline_command(settings: Settings, start: dt.date | None, end: dt.date | None, fmt: str, lang: str) -> str:
    """`ent-analytics headline`: the press figures of the period, the whole data by default."""
    con = open_warehouse(settings)
    try:
        start, end = resolve_period(con, start, end)
        figures = headline_figures(con, start, end)
    finally:
        con.close()
    return render_headline(figures, fmt, lang, settings)
