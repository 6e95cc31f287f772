"""Data quality: log lines read, accepted and rejected per day and reason, files read and skipped, CSV rejects.

These are counts of lines and files, not of people, so nothing here is hidden as a small count;
reject texts were stripped of identifiers at ingestion and are escaped like any data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import plotly.graph_objects as go

from dashboards.charts import DAY_HOVER, SERIES_HOVER, day_axis, no_data, titled
from dashboards.model import Card, Cards, Note, Page, Section, Table, label, plot_text
from pipelines.french import format_date, format_int

KIND_LABELS = {"logs": "journaux d'accès", "directory": "annuaire", "reference": "référentiel des collèges",
               "loans": "prêts et dons", "needs": "besoins"}
STATUS_LABELS = {"ingested": "intégré", "skipped_duplicate": "ignoré : contenu déjà intégré",
                 "problem": "illisible"}
EXAMPLES_PER_REASON = 3


def summary_cards(report: dict) -> Cards:
    """The figures of `ent-analytics quality`, as cards."""
    rejected_rows = report["loan_rows_rejected"] + report["need_rows_rejected"] + report["directory_rows_rejected"]
    whole = "Depuis la première ingestion"
    return Cards([
        Card("Fichiers intégrés", format_int(report["files_ingested"]), "Fichiers bruts dont le contenu a été lu.",
             whole),
        Card("Fichiers ignorés", format_int(report["files_skipped_duplicate"]),
             "Fichiers dont le contenu, octet pour octet, avait déjà été intégré sous un autre nom.", whole),
        Card("Lignes de journaux lues", format_int(report["log_lines_read"]),
             "Lignes non vides des journaux d'accès intégrés.", whole,
             [f"acceptées : {format_int(report['log_lines_accepted'])}",
              f"rejetées : {format_int(report['log_lines_rejected'])}"]),
        Card("Lignes CSV rejetées", format_int(rejected_rows), "Lignes des exports refusées, avec leur motif.", whole,
             [f"prêts et dons : {format_int(report['loan_rows_rejected'])}",
              f"besoins : {format_int(report['need_rows_rejected'])}",
              f"annuaire : {format_int(report['directory_rows_rejected'])}"]),
    ])


def log_lines_per_day(con: duckdb.DuckDBPyConnection) -> go.Figure:
    """Log lines accepted and rejected per local day (rejects without a readable date are in the table)."""
    rows = con.execute(
        "select local_day, sum(lines) filter (where outcome = 'accepted'),"
        " sum(lines) filter (where outcome = 'rejected') from marts.fct_log_lines_daily"
        " where local_day is not null group by local_day order by local_day"
    ).fetchall()
    fig = day_axis(titled("Lignes de journaux lues par jour", "Jour", "Lignes"))
    if not rows:
        return no_data(fig)
    days = [row[0] for row in rows]
    for column, name, colour in ((1, "Acceptées", "#2a9d8f"), (2, "Rejetées", "#b02a37")):
        values = [row[column] or 0 for row in rows]
        fig.add_bar(x=days, y=values, name=name, marker={"color": colour}, customdata=[format_int(v) for v in values],
                    hovertemplate=f"{DAY_HOVER}<br>{name} : %{{customdata}}<extra></extra>")
    fig.update_layout(barmode="stack")
    return fig


def rejects_per_day(con: duckdb.DuckDBPyConnection) -> go.Figure:
    """Rejected log lines per local day, one colour per reason."""
    rows = con.execute(
        "select local_day, reason, sum(lines) from marts.fct_log_lines_daily"
        " where outcome = 'rejected' and local_day is not null group by all order by local_day, reason"
    ).fetchall()
    fig = day_axis(titled("Lignes de journaux rejetées par jour et par motif", "Jour", "Lignes rejetées"))
    if not rows:
        return no_data(fig)
    for reason in sorted({row[1] or "" for row in rows}):
        picked = [row for row in rows if (row[1] or "") == reason]
        fig.add_bar(x=[row[0] for row in picked], y=[row[2] for row in picked], name=plot_text(reason or "sans motif"),
                    customdata=[format_int(row[2]) for row in picked],
                    hovertemplate=SERIES_HOVER)
    # The legend names the reasons, even when there is only one.
    fig.update_layout(barmode="stack", showlegend=True, legend={"orientation": "h", "y": -0.25})
    daily = {}
    for day, _, lines in rows:
        daily[day] = daily.get(day, 0) + lines
    if max(daily.values()) <= 5:
        fig.update_yaxes(dtick=1)  # a handful of lines: whole numbers only
    return fig


def rejects_by_reason(con: duckdb.DuckDBPyConnection) -> Table:
    """Rejected log lines per reason over the whole data, with the days they span."""
    rows = con.execute(
        "select reason, sum(lines), sum(lines) filter (where local_day is null), min(local_day), max(local_day)"
        " from marts.fct_log_lines_daily where outcome = 'rejected' group by reason order by 2 desc, 1"
    ).fetchall()
    body = [[reason or "sans motif", format_int(lines), format_int(undated or 0),
             format_date(first) if first else "—", format_date(last) if last else "—"]
            for reason, lines, undated, first, last in rows]
    return Table("Lignes de journaux rejetées par motif", ["Motif", "Lignes", "dont sans date lisible",
                 "Premier jour", "Dernier jour"], body, numeric=[False, True, True, False, False])


def _ledger(con: duckdb.DuckDBPyConnection, ledger_path: Path, query: str) -> list[tuple]:
    """Rows of a query over the ingestion ledger (named `ledger` in it); none before the first ingestion."""
    if not ledger_path.is_file():
        return []
    return con.execute(f"with ledger as (select * from read_parquet(?)) {query}", [str(ledger_path)]).fetchall()


def files_table(con: duckdb.DuckDBPyConnection, ledger_path: Path) -> Table:
    """Every raw file seen, with its outcome and its lines read, accepted and rejected."""
    rows = _ledger(con, ledger_path, "select path, kind, status, lines_read, lines_accepted, lines_rejected,"
                                     " cast(ingested_at as date) from ledger order by kind, path")
    body = [[path, label(KIND_LABELS, kind), label(STATUS_LABELS, status), format_int(read or 0),
             format_int(accepted or 0), format_int(rejected or 0), format_date(read_on) if read_on else "—"]
            for path, kind, status, read, accepted, rejected, read_on in rows]
    return Table("Fichiers bruts lus", ["Fichier", "Type", "Résultat", "Lignes lues", "acceptées", "rejetées",
                 "Lu le"], body, numeric=[False, False, False, True, True, True, False])


def skipped_files_table(con: duckdb.DuckDBPyConnection, ledger_path: Path) -> Table:
    """Files skipped because their content was already ingested, with the file that holds it."""
    rows = _ledger(con, ledger_path,
                   "select s.path, s.kind, min(i.path) from ledger as s left join ledger as i"
                   " on i.file_id = s.file_id and i.status = 'ingested'"
                   " where s.status = 'skipped_duplicate' group by s.path, s.kind order by s.path")
    body = [[path, label(KIND_LABELS, kind), original or "—"] for path, kind, original in rows]
    return Table("Fichiers ignorés (contenu déjà intégré)", ["Fichier", "Type", "Même contenu que"], body)


def csv_rejects_table(con: duckdb.DuckDBPyConnection) -> Table:
    """Rejected CSV rows per file and reason."""
    rows = con.execute(
        "select source_file, kind, reason, count(*) from marts.fct_csv_rejects group by all order by 1, 4 desc, 3"
    ).fetchall()
    body = [[source_file, label(KIND_LABELS, kind), reason, format_int(count)]
            for source_file, kind, reason, count in rows]
    return Table("Lignes CSV rejetées par fichier et par motif", ["Fichier", "Type", "Motif", "Lignes"], body,
                 numeric=[False, False, False, True])


def csv_reject_examples(con: duckdb.DuckDBPyConnection) -> Table:
    """The first rejected rows of each file and reason, as read (identifiers already replaced by their hash)."""
    rows = con.execute(
        "select source_file, line_number, reason, text from ("
        "  select *, row_number() over (partition by source_file, reason order by line_number) as n"
        "  from marts.fct_csv_rejects) where n <= ? order by source_file, line_number", [EXAMPLES_PER_REASON]
    ).fetchall()
    body = [[source_file, format_int(line_number), reason, text or ""]
            for source_file, line_number, reason, text in rows]
    return Table(f"Exemples de lignes CSV rejetées ({EXAMPLES_PER_REASON} au plus par fichier et par motif)",
                 ["Fichier", "Ligne", "Motif", "Texte de la ligne"], body, numeric=[False, True, False, False],
                 raw_text=(3,))


def quality_page(con: duckdb.DuckDBPyConnection, report: dict, ledger_path: Path, data_date: str) -> Page:
    """The data quality page."""
    return Page("quality.html", "Qualité des données",
                "Lignes de journaux lues, acceptées et rejetées par jour et par motif, fichiers lus et ignorés, "
                "lignes CSV rejetées avec des exemples.", data_date, [
        Section("En bref", [summary_cards(report)]),
        Section("Journaux d'accès", [log_lines_per_day(con), rejects_per_day(con), rejects_by_reason(con)],
                "Une ligne illisible n'est jamais perdue : elle est rejetée avec son motif et comptée."),
        Section("Fichiers", [files_table(con, ledger_path), skipped_files_table(con, ledger_path)]),
        Section("Exports CSV", [csv_rejects_table(con), csv_reject_examples(con),
                Note("Les identifiants des lignes rejetées sont remplacés par leur empreinte, "
                     "comme dans l'entrepôt.")]),
    ], nav_label="Qualité des données")
