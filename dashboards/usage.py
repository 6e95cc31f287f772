"""ENT usage: daily visits and page views by profile, hours of use, services, spaces, collèges and communes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import plotly.graph_objects as go

import pipelines
from dashboards.charts import (
    NO_DATA, SERIES_HOVER, add_total, all_hidden, day_axis, mark_hidden_bars, mark_lockdown, masked_rates,
    masked_values, no_data, titled,
)
from dashboards.model import (
    PROFILE_LABELS, WEEKDAYS, Note, Page, Section, Table, count_cell, is_small, label, plot_text, small_count_note,
    small_label,
)
from pipelines.french import format_date, format_decimal, format_int

COMMUNES_GEOJSON = Path(pipelines.__file__).resolve().parent / "reference" / "communes_92.geojson"
MEASURES = {"visits": "Visites", "page_views": "Pages vues"}
SERVICE_LABELS = {
    "Accueil": "Accueil", "Courrier_Electronique": "Messagerie", "Cahier_Textes": "Cahier de textes",
    "Travail_Collaboratif": "Travail collaboratif", "Services_Vie_Scolaire": "Vie scolaire",
    "Ressources_En_Ligne": "Ressources en ligne", "Espace_Documentaire": "Espace documentaire",
    "Agenda": "Agenda", "Actualites": "Actualités", "Annuaire": "Annuaire",
}
RANKED_IN_CHART = 20

DAILY_BY_PROFILE = """
with span as (select min(local_day) as first, max(local_day) as last from marts.fct_visits),
days as (select unnest(generate_series(first, last, interval 1 day))::date as local_day from span),
profiles as (select distinct profile from marts.fct_visits),
counts as (
    select local_day, profile, count(*) as visits, sum(page_views) as page_views
    from marts.fct_visits group by local_day, profile
)
select days.local_day, profiles.profile, coalesce(counts.visits, 0), coalesce(counts.page_views, 0)
from days cross join profiles
left join counts on counts.local_day = days.local_day and counts.profile = profiles.profile
order by days.local_day
"""


def _profile_order(profile: str) -> tuple[int, str]:
    known = list(PROFILE_LABELS)
    return (known.index(profile), "") if profile in known else (len(known), profile or "")


def daily_by_profile(con: duckdb.DuckDBPyConnection, measure: str, threshold: int) -> go.Figure:
    """Visits or page views per local day: one line per profile (small counts hidden) and the exact total."""
    rows = con.execute(DAILY_BY_PROFILE).fetchall()
    column = 2 if measure == "visits" else 3
    fig = day_axis(titled(f"{MEASURES[measure]} par jour et par profil", "Jour", MEASURES[measure]))
    if not rows:
        return no_data(fig)
    days = sorted({row[0] for row in rows})
    for profile in sorted({row[1] for row in rows}, key=_profile_order):
        values, labels = masked_values([row[column] for row in rows if row[1] == profile], threshold)
        fig.add_scatter(x=days, y=values, customdata=labels, name=plot_text(label(PROFILE_LABELS, profile)),
                        mode="lines+markers", hovertemplate=SERIES_HOVER)
    add_total(fig, days, [sum(row[column] for row in rows if row[0] == day) for day in days])
    mark_lockdown(fig, days[0], days[-1])
    return fig


def hour_weekday_heatmap(con: duckdb.DuckDBPyConnection, threshold: int) -> go.Figure:
    """Page views by weekday and local hour over the whole data, small cells left blank."""
    rows = con.execute(
        "select isodow(local_day), hour, sum(page_views) from marts.fct_hourly_usage group by all"
    ).fetchall()
    fig = titled("Pages vues par jour de la semaine et heure (heure locale)", "Heure", "", height=380)
    if not rows:
        return no_data(fig)
    counts = {(weekday, hour): page_views for weekday, hour, page_views in rows}
    grid = [[counts.get((weekday, hour), 0) for hour in range(24)] for weekday in range(1, 8)]
    masked = [masked_values(line, threshold) for line in grid]
    fig.add_heatmap(
        z=[values for values, _ in masked], customdata=[labels for _, labels in masked],
        x=[f"{hour} h" for hour in range(24)], y=[day.capitalize() for day in WEEKDAYS],
        colorscale="Blues", hoverongaps=True, colorbar={"title": {"text": "Pages vues"}},
        hovertemplate="%{y}, %{x} : %{customdata} pages vues<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def services_bar(con: duckdb.DuckDBPyConnection, threshold: int) -> go.Figure:
    """Page views and visits per ENT service over the whole data, the most used on top."""
    rows = con.execute(
        "select coalesce(service, 'Autres'), sum(page_views), sum(visits) from marts.fct_daily_usage"
        " group by all order by 2 desc, 1"
    ).fetchall()
    fig = titled("Utilisation par service", "Pages vues", "", height=max(300, 90 + 34 * len(rows)))
    if not rows:
        return no_data(fig)
    page_views, page_view_labels = masked_values([row[1] for row in rows], threshold)
    visit_labels = [count_cell(row[2], threshold) for row in rows]
    services = [plot_text(label(SERVICE_LABELS, row[0])) for row in rows]
    fig.add_bar(
        y=services, x=page_views, orientation="h",
        customdata=list(zip(page_view_labels, visit_labels, strict=True)), marker={"color": "#2a6f97"},
        hovertemplate="%{y}<br>Pages vues : %{customdata[0]}<br>Visites : %{customdata[1]}<extra></extra>",
    )
    mark_hidden_bars(fig, services, [value is None for value in page_views], small_label(threshold), horizontal=True)
    fig.update_yaxes(autorange="reversed")
    return fig


def spaces_per_week(con: duckdb.DuckDBPyConnection, threshold: int) -> go.Figure:
    """Distinct collaborative spaces with a page view, per week (weeks start on Monday)."""
    rows = con.execute(
        "select date_trunc('week', local_day)::date as week, count(distinct space_id) from marts.fct_space_days"
        " group by week order by week"
    ).fetchall()
    fig = titled("Espaces collaboratifs utilisés par semaine", "Semaine", "Espaces utilisés")
    if not rows:
        return no_data(fig)
    spaces, labels = masked_values([row[1] for row in rows], threshold)
    weeks = [f"Semaine du {format_date(week)}" for week, _ in rows]
    fig.add_bar(x=weeks, y=spaces, customdata=labels, marker={"color": "#4d908e"},
                hovertemplate="%{x} : %{customdata} espaces<extra></extra>")
    mark_hidden_bars(fig, weeks, [value is None for value in spaces], small_label(threshold))
    return fig


@dataclass(frozen=True)
class CollegeVisits:
    """Visits of a collège's users over the whole data, against its headcount."""

    uai: str
    name: str
    commune: str
    commune_insee: str | None
    students: int
    visits: int
    latitude: float | None
    longitude: float | None

    @property
    def visits_per_pupil(self) -> float:
        return self.visits / self.students


def college_visits(con: duckdb.DuckDBPyConnection) -> list[CollegeVisits]:
    """Every collège with a known headcount, with the visits of its users (zero when none)."""
    rows = con.execute(
        "with visits as (select uai, count(*) as visits from marts.fct_visits where uai is not null group by uai)"
        " select c.uai, coalesce(c.name, c.uai), coalesce(c.commune, ''), c.commune_insee, c.students,"
        " coalesce(v.visits, 0), c.latitude, c.longitude"
        " from marts.dim_colleges as c left join visits as v on v.uai = c.uai"
        " where c.students > 0 order by c.uai"
    ).fetchall()
    return [CollegeVisits(*row) for row in rows]


def ranked(colleges: list[CollegeVisits], threshold: int) -> list[CollegeVisits]:
    """Collèges with visits, by visits per pupil; those with a hidden count last, by name, so no order leaks."""
    used = [college for college in colleges if college.visits > 0]
    published = [college for college in used if not is_small(college.visits, threshold)]
    hidden = [college for college in used if is_small(college.visits, threshold)]
    return sorted(published, key=lambda c: (-c.visits_per_pupil, c.name)) + sorted(hidden, key=lambda c: c.name)


def college_label(name: str, commune: str) -> str:
    """A collège as shown on a chart axis: names repeat across communes, so the commune is added."""
    return plot_text(f"{name} ({commune})" if commune else name)


def ranking_figure(colleges: list[CollegeVisits], threshold: int) -> go.Figure:
    """The collèges with the most visits per pupil, as horizontal bars."""
    top = [college for college in ranked(colleges, threshold) if not is_small(college.visits, threshold)]
    top = top[:RANKED_IN_CHART]
    first = f" ({RANKED_IN_CHART} premiers)" if len(top) == RANKED_IN_CHART else ""
    fig = titled(f"Collèges classés par visites par élève{first}", "Visites par élève", "",
                 height=max(300, 100 + 26 * len(top)))
    if not top:
        return no_data(fig, all_hidden(threshold) if any(c.visits for c in colleges) else NO_DATA)
    fig.add_bar(
        y=[college_label(c.name, c.commune) for c in top], x=[c.visits_per_pupil for c in top], orientation="h",
        customdata=[(format_decimal(c.visits_per_pupil, 2), format_int(c.visits), format_int(c.students)) for c in top],
        hovertemplate="%{y}<br>%{customdata[0]} visite(s) par élève<br>"
                      "%{customdata[1]} visites, %{customdata[2]} élèves<extra></extra>",
        marker={"color": "#2a6f97"},
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def ranking_table(colleges: list[CollegeVisits], threshold: int) -> Table:
    """Every collège with visits, ranked by visits per pupil; hidden counts unranked at the end."""
    rows = []
    for rank, college in enumerate(ranked(colleges, threshold), start=1):
        hidden = is_small(college.visits, threshold)
        rate = "—" if hidden else format_decimal(college.visits_per_pupil, 2)
        rows.append(["—" if hidden else format_int(rank), college.name, college.commune,
                     format_int(college.students), count_cell(college.visits, threshold), rate])
    return Table("Collèges classés par visites par élève", ["Rang", "Collège", "Commune", "Élèves", "Visites",
                 "Visites par élève"], rows, numeric=[True, False, False, True, True, True])


def communes(path: Path = COMMUNES_GEOJSON) -> dict:
    """The GeoJSON of the communes (property `code` = INSEE code, `nom` = name)."""
    return json.loads(path.read_text(encoding="utf-8"))


def commune_map(colleges: list[CollegeVisits], threshold: int, geojson: dict) -> go.Figure:
    """Communes coloured by visits per pupil of their collèges, collèges as points; drawn without any tile."""
    fig = titled("Visites par élève, par commune", height=620)
    names = {feature["properties"]["code"]: feature["properties"]["nom"] for feature in geojson["features"]}
    codes = sorted(names)
    rates, hover = _commune_rates(colleges, codes, names, threshold)
    grey = [i for i, rate in enumerate(rates) if rate is None]
    coloured = [i for i, rate in enumerate(rates) if rate is not None]
    shared = {"geojson": geojson, "featureidkey": "properties.code", "hovertemplate": "%{text}<extra></extra>"}
    fig.add_choropleth(**shared, locations=[codes[i] for i in grey], z=[0] * len(grey), text=[hover[i] for i in grey],
                       colorscale=[[0, "#e9ecef"], [1, "#e9ecef"]], showscale=False, name="Sans donnée publiée",
                       marker={"line": {"color": "#adb5bd", "width": 0.6}})
    fig.add_choropleth(**shared, locations=[codes[i] for i in coloured], z=[rates[i] for i in coloured],
                       text=[hover[i] for i in coloured], colorscale="Blues", name="Visites par élève",
                       zmin=0, zmax=max([rates[i] for i in coloured], default=0) or 1,
                       colorbar={"title": {"text": "Visites<br>par élève"}},
                       marker={"line": {"color": "#6c757d", "width": 0.6}})
    placed = [c for c in colleges if c.latitude is not None and c.longitude is not None]
    fig.add_scattergeo(lat=[c.latitude for c in placed], lon=[c.longitude for c in placed], mode="markers",
                       text=[_college_hover(c, threshold) for c in placed], name="Collèges",
                       marker={"size": 6, "color": "#212529", "line": {"color": "white", "width": 1}},
                       hovertemplate="%{text}<extra></extra>")
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(margin={"l": 0, "r": 0, "t": 50, "b": 0}, legend={"x": 0, "y": 0})
    return fig


def _commune_rates(colleges: list[CollegeVisits], codes: list[str], names: dict[str, str],
                   threshold: int) -> tuple[list[float | None], list[str]]:
    """Visits per pupil of each commune (None when it has no collège or few visits) and its hover text."""
    totals: dict[str, tuple[int, int]] = {}
    for college in colleges:
        visits, students = totals.get(college.commune_insee or "", (0, 0))
        totals[college.commune_insee or ""] = (visits + college.visits, students + college.students)
    counts = [totals.get(code, (0, 0)) for code in codes]
    rates, labels = masked_rates([v / s if s else None for v, s in counts], [v for v, _ in counts], threshold)
    rates = [rate if students else None for rate, (_, students) in zip(rates, counts, strict=True)]
    hover = [f"{plot_text(names[code])}<br>{_commune_hover(count, rate_label, threshold)}"
             for code, count, rate_label in zip(codes, counts, labels, strict=True)]
    return rates, hover


def _commune_hover(count: list[int], rate_label: str, threshold: int) -> str:
    visits, students = count
    if not students:
        return "aucun collège"
    counts = f"{count_cell(visits, threshold)} visites, {format_int(students)} élèves"
    return f"{rate_label} visite(s) par élève<br>{counts}"


def _college_hover(college: CollegeVisits, threshold: int) -> str:
    rate = "masqué" if is_small(college.visits, threshold) else format_decimal(college.visits_per_pupil, 2)
    return (f"{plot_text(college.name)} ({plot_text(college.commune)})<br>{rate} visite(s) par élève, "
            f"{count_cell(college.visits, threshold)} visites")


def usage_page(con: duckdb.DuckDBPyConnection, threshold: int, data_date: str) -> Page:
    """The ENT usage page: every figure over the whole data."""
    colleges = college_visits(con)
    note = small_count_note(threshold)
    return Page("usage.html", "Utilisation de l'ENT",
                "Visites et pages vues par jour et par profil, heures d'utilisation, services, espaces "
                "collaboratifs, collèges et communes classés par visites par élève.", data_date, [
        Section("Visites et pages vues par jour", [daily_by_profile(con, "visits", threshold),
                daily_by_profile(con, "page_views", threshold), note],
                "Une visite appartient au jour où elle commence ; les profils viennent de l'annuaire de l'ENT."),
        Section("Heures d'utilisation", [hour_weekday_heatmap(con, threshold)]),
        Section("Services et espaces collaboratifs", [services_bar(con, threshold), spaces_per_week(con, threshold)]),
        Section("Collèges", [ranking_figure(colleges, threshold), ranking_table(colleges, threshold), note],
                "Visites des utilisateurs rattachés à chaque collège, rapportées à son effectif d'élèves."),
        Section("Carte des communes", [commune_map(colleges, threshold, communes()),
                Note("Les communes sans collège ou dont les visites sont masquées restent en gris.")]),
    ], nav_label="Utilisation")
