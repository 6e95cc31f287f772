"""Equipment: devices by type and recipient, devices in service over time, coverage of needs, waits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import plotly.graph_objects as go

from dashboards.charts import (
    NO_DATA, SERIES_HOVER, add_total, all_hidden, day_axis, mark_hidden_bars, mark_lockdown, masked_rates,
    masked_values, no_data, titled,
)
from dashboards.model import (
    DEVICE_LABELS, PRIORITY_GROUPS, RECIPIENT_LABELS, TRANSFER_LABELS, Note, Page, Section, Table, count_cell,
    in_vocabulary_order, is_small, label, plot_text, small_count_note, small_label,
)
from pipelines.french import format_date, format_int, format_percent

# Buckets of days from identification to equipment: (first day, last day or None, label).
WAIT_BUCKETS = [(0, 0, "le jour même"), (1, 3, "1 à 3 jours"), (4, 7, "4 à 7 jours"), (8, 14, "8 à 14 jours"),
                (15, 30, "15 à 30 jours"), (31, None, "plus de 30 jours")]
PRIORITY_COLOURS = {"REP+": "#b02a37", "REP": "#e07a1f", "Autres collèges": "#2a6f97"}


def devices_by_type_and_recipient(con: duckdb.DuckDBPyConnection, threshold: int) -> go.Figure:
    """Devices lent or given over the whole data: bars per type, one colour per recipient."""
    rows = con.execute("select device_type, recipient_type, count(*) from marts.fct_devices group by all").fetchall()
    fig = titled("Équipements fournis par type et par destinataire", "", "Équipements")
    if not rows:
        return no_data(fig)
    counts = {(device, recipient): devices for device, recipient, devices in rows}
    types = in_vocabulary_order({row[0] for row in rows}, DEVICE_LABELS)
    for recipient in in_vocabulary_order({row[1] for row in rows}, RECIPIENT_LABELS):
        values, labels = masked_values([counts.get((device, recipient), 0) for device in types], threshold)
        fig.add_bar(x=[plot_text(label(DEVICE_LABELS, device)) for device in types], y=values, customdata=labels,
                    name=plot_text(label(RECIPIENT_LABELS, recipient)),
                    hovertemplate="%{x}, %{fullData.name} : %{customdata}<extra></extra>")
    fig.update_layout(barmode="group")
    return fig


def devices_table(con: duckdb.DuckDBPyConnection, threshold: int) -> Table:
    """Devices per type: lent, given, to pupils, to teachers; the grand total exact."""
    rows = con.execute(
        "select device_type, count(*) filter (where transfer = 'pret'), count(*) filter (where transfer = 'don'),"
        " count(*) filter (where recipient_type = 'eleve'), count(*) filter (where recipient_type = 'enseignant'),"
        " count(*) from marts.fct_devices group by device_type"
    ).fetchall()
    by_type = {row[0]: row[1:] for row in rows}
    body = [[label(DEVICE_LABELS, device), *(count_cell(n, threshold) for n in by_type[device])]
            for device in in_vocabulary_order(set(by_type), DEVICE_LABELS)]
    totals = [sum(row[column] for row in by_type.values()) for column in range(5)]
    body.append(["Total", *(count_cell(n, threshold) for n in totals[:4]), format_int(totals[4])])
    columns = ["Type", TRANSFER_LABELS["pret"], TRANSFER_LABELS["don"], "À des élèves", "À des enseignants",
               "Ensemble"]
    return Table("Équipements fournis par type", columns, body, numeric=[False] + [True] * 5)


# A device is in service from its start date until the day before its end date: +1, then -1.
DEVICES_IN_SERVICE = """
with span as (
    select min(start_date) as first, greatest(max(start_date), ?::date) as last from marts.fct_devices
),
days as (select unnest(generate_series(first, last, interval 1 day))::date as day from span),
types as (select distinct device_type from marts.fct_devices),
changes as (
    select day, device_type, sum(change) as change from (
        select start_date as day, device_type, 1 as change from marts.fct_devices
        union all
        select end_date, device_type, -1 from marts.fct_devices where end_date is not null
    ) group by all
)
select days.day, types.device_type,
    sum(coalesce(changes.change, 0)) over (partition by types.device_type order by days.day) as in_service
from days cross join types
left join changes on changes.day = days.day and changes.device_type = types.device_type
order by days.day, types.device_type
"""


def devices_over_time(con: duckdb.DuckDBPyConnection, as_of: dt.date, threshold: int) -> go.Figure:
    """Devices in service each day (handed over and not returned), per type, and their exact total."""
    rows = con.execute(DEVICES_IN_SERVICE, [as_of]).fetchall()
    fig = day_axis(titled("Équipements en service au fil des jours", "Jour", "Équipements en service"))
    if not rows:
        return no_data(fig)
    days = sorted({row[0] for row in rows})
    for device in in_vocabulary_order({row[1] for row in rows}, DEVICE_LABELS):
        values, labels = masked_values([row[2] for row in rows if row[1] == device], threshold)
        fig.add_scatter(x=days, y=values, customdata=labels, name=plot_text(label(DEVICE_LABELS, device)),
                        mode="lines", hovertemplate=SERIES_HOVER)
    add_total(fig, days, [sum(row[2] for row in rows if row[0] == day) for day in days])
    mark_lockdown(fig, days[0], days[-1])
    return fig


@dataclass(frozen=True)
class CollegeNeeds:
    """Needs of one collège on a given day: identified by then, covered by then, and the oldest still waiting."""

    uai: str
    name: str
    commune: str
    group: str
    identified: int
    covered: int
    waiting_since: dt.date | None

    @property
    def unmet(self) -> int:
        return self.identified - self.covered

    @property
    def coverage_rate(self) -> float:
        return self.covered / self.identified if self.identified else 0.0


COLLEGE_NEEDS = """
select n.uai, coalesce(c.name, 'UAI ' || n.uai || ' (hors référentiel)'), coalesce(c.commune, ''),
    case c.education_priority when 'REP+' then 'REP+' when 'REP' then 'REP' else 'Autres collèges' end,
    count(*), count(*) filter (where n.first_equipped_on <= $as_of),
    min(n.identified_on) filter (where n.first_equipped_on is null or n.first_equipped_on > $as_of)
from marts.fct_needs as n left join marts.dim_colleges as c on c.uai = n.uai
where n.identified_on <= $as_of
group by all
order by 2
"""


def college_needs(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[CollegeNeeds]:
    """Every collège with a need identified by the day, with what was covered by then."""
    return [CollegeNeeds(*row) for row in con.execute(COLLEGE_NEEDS, {"as_of": as_of}).fetchall()]


def coverage_by_group(needs: list[CollegeNeeds], threshold: int) -> go.Figure:
    """Coverage rate of the needs identified in REP+, REP and other collèges."""
    fig = titled("Taux de couverture des besoins par éducation prioritaire", "", "Besoins couverts (%)")
    if not needs:
        return no_data(fig)
    identified = [sum(c.identified for c in needs if c.group == group) for group in PRIORITY_GROUPS]
    covered = [sum(c.covered for c in needs if c.group == group) for group in PRIORITY_GROUPS]
    rates = [100 * cov / ident if ident else None for cov, ident in zip(covered, identified, strict=True)]
    shown, _ = masked_rates(rates, identified, threshold)
    hover = [f"{count_cell(cov, threshold)} couverts sur {count_cell(ident, threshold)} identifiés"
             for cov, ident in zip(covered, identified, strict=True)]
    fig.add_bar(x=PRIORITY_GROUPS, y=shown, customdata=hover, text=[_percent(rate) for rate in shown],
                marker={"color": [PRIORITY_COLOURS[group] for group in PRIORITY_GROUPS]},
                hovertemplate="%{x} : %{text}<br>%{customdata}<extra></extra>")
    hidden = [is_small(count, threshold) for count in identified]
    mark_hidden_bars(fig, PRIORITY_GROUPS, hidden, f"effectif {small_label(threshold)}")
    fig.update_yaxes(range=[0, 100])
    return fig


def _percent(rate: float | None) -> str:
    return "" if rate is None else format_percent(rate / 100)


def coverage_by_college(needs: list[CollegeNeeds], threshold: int) -> go.Figure:
    """One point per collège: its coverage rate, in its education-priority column (small counts left out)."""
    fig = titled("Taux de couverture des besoins, collège par collège", "", "Besoins couverts (%)", height=460)
    published = [c for c in needs if not is_small(c.identified, threshold)]
    if not published:
        return no_data(fig, all_hidden(threshold) if needs else NO_DATA)
    for position, group in enumerate(PRIORITY_GROUPS):
        colleges = [c for c in published if c.group == group]
        fig.add_scatter(
            x=[position] * len(colleges), y=[100 * c.coverage_rate for c in colleges], mode="markers", name=group,
            marker={"size": 10, "opacity": 0.75, "color": PRIORITY_COLOURS[group]},
            text=[f"{plot_text(c.name)} ({plot_text(c.commune)})<br>{format_percent(c.coverage_rate)} : "
                  f"{count_cell(c.covered, threshold)} sur {format_int(c.identified)}" for c in colleges],
            hovertemplate="%{text}<extra></extra>",
        )
    # Numeric positions keep the three columns on the axis even when one has no published collège.
    fig.update_xaxes(tickvals=list(range(len(PRIORITY_GROUPS))), ticktext=PRIORITY_GROUPS, range=[-0.5, 2.5])
    fig.update_yaxes(range=[-5, 105])
    return fig


def coverage_table(needs: list[CollegeNeeds], threshold: int) -> Table:
    """Needs identified and covered per collège, by education priority then coverage."""
    order = sorted(needs, key=lambda c: (PRIORITY_GROUPS.index(c.group), c.name))
    rows = [[c.name, c.commune, c.group, count_cell(c.identified, threshold), count_cell(c.covered, threshold),
             "—" if is_small(c.identified, threshold) else format_percent(c.coverage_rate)] for c in order]
    return Table("Couverture des besoins par collège", ["Collège", "Commune", "Éducation prioritaire",
                 "Besoins identifiés", "Besoins couverts", "Taux de couverture"], rows,
                 numeric=[False, False, False, True, True, True])


def unmet_table(needs: list[CollegeNeeds], as_of: dt.date, threshold: int) -> Table:
    """Collèges with needs still waiting on the day, the longest wait first."""
    waiting = sorted((c for c in needs if c.unmet > 0), key=lambda c: (c.waiting_since, c.name))
    rows = [[c.name, c.commune, c.group, count_cell(c.unmet, threshold), format_date(c.waiting_since),
             format_int((as_of - c.waiting_since).days)] for c in waiting]
    return Table(f"Collèges ayant des besoins non couverts au {format_date(as_of)}",
                 ["Collège", "Commune", "Éducation prioritaire", "Besoins non couverts",
                  "Plus ancien besoin identifié le", "Attente (jours)"], rows,
                 numeric=[False, False, False, True, False, True])


def longest_waits(needs: list[CollegeNeeds], as_of: dt.date) -> go.Figure:
    """Days since the oldest need still waiting was identified, for the 20 collèges waiting longest."""
    waiting = sorted((c for c in needs if c.unmet > 0), key=lambda c: (c.waiting_since, c.name))[:20]
    fig = titled(f"Attente du plus ancien besoin non couvert au {format_date(as_of)}", "Jours d'attente", "",
                 height=max(300, 100 + 26 * len(waiting)))
    if not waiting:
        return no_data(fig)
    days = [(as_of - c.waiting_since).days for c in waiting]
    fig.add_bar(y=[plot_text(f"{c.name} ({c.commune})") for c in waiting], x=days, orientation="h",
                marker={"color": [PRIORITY_COLOURS[c.group] for c in waiting]},
                customdata=[(format_int(n), format_date(c.waiting_since), c.group)
                            for n, c in zip(days, waiting, strict=True)],
                hovertemplate="%{y} (%{customdata[2]})<br>"
                              "%{customdata[0]} jours, depuis le %{customdata[1]}<extra></extra>")
    fig.update_yaxes(autorange="reversed")
    return fig


def days_to_equipment(con: duckdb.DuckDBPyConnection, as_of: dt.date, threshold: int) -> go.Figure:
    """Needs covered by the day, by days from identification to the pupil's first device."""
    rows = dict(con.execute(
        "select days_to_equipment, count(*) from marts.fct_needs where first_equipped_on <= ? group by all",
        [as_of]).fetchall())
    fig = titled("Délai entre l'identification du besoin et l'équipement", "Délai", "Besoins couverts")
    if not rows:
        return no_data(fig)
    counts = [sum(n for days, n in rows.items() if first <= days and (last is None or days <= last))
              for first, last, _ in WAIT_BUCKETS]
    values, labels = masked_values(counts, threshold)
    buckets = [name for _, _, name in WAIT_BUCKETS]
    fig.add_bar(x=buckets, y=values, customdata=labels, marker={"color": "#4d908e"},
                hovertemplate="%{x} : %{customdata} besoins couverts<extra></extra>")
    mark_hidden_bars(fig, buckets, [value is None for value in values], small_label(threshold))
    return fig


def equipment_page(con: duckdb.DuckDBPyConnection, as_of: dt.date, threshold: int, data_date: str) -> Page:
    """The equipment page: devices over the whole data, needs as they stood on the last day of data."""
    needs = college_needs(con, as_of)
    note = small_count_note(threshold)
    day = format_date(as_of)
    return Page("equipment.html", "Équipement des élèves et des enseignants",
                "Ordinateurs et tablettes prêtés ou donnés par type et par destinataire, équipements en service au "
                "fil des jours, couverture des besoins identifiés par collège (REP+, REP, autres), besoins en "
                "attente et délais d'équipement.", data_date, [
        Section("Équipements fournis", [devices_by_type_and_recipient(con, threshold), devices_table(con, threshold),
                devices_over_time(con, as_of, threshold), note],
                "Prêts et dons de la dernière version des exports ; un don n'est jamais rendu."),
        Section(f"Couverture des besoins au {day}", [coverage_by_group(needs, threshold),
                coverage_by_college(needs, threshold), coverage_table(needs, threshold), note],
                "Un besoin est couvert quand l'élève identifié a reçu un équipement en prêt ou en don."),
        Section("Besoins en attente", [longest_waits(needs, as_of), unmet_table(needs, as_of, threshold)]),
        Section("Délais d'équipement", [days_to_equipment(con, as_of, threshold),
                Note("Un élève équipé avant l'identification de son besoin compte « le jour même »."), note]),
    ], nav_label="Équipement")
