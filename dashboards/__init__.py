"""Static HTML dashboards for managers, the press and data quality, written into DATA_DIR/dashboards/.

Builders read the marts through a read-only DuckDB connection and return Plotly figures or
small table models; `dashboards.html` is the only module that writes HTML.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dashboards.data_quality import quality_page
from dashboards.equipment import equipment_page
from dashboards.html import write_file, write_pages
from dashboards.model import Link, Links, Page, Section
from dashboards.press import DOWNLOADS, data_date_text, empty_press_page, press_page
from dashboards.usage import usage_page
from pipelines.headline import data_span, headline_csv, headline_figures, open_warehouse, render_headline
from pipelines.ingest.ledger import ledger_path
from pipelines.quality import quality_report
from pipelines.settings import Settings

__all__ = ["publish"]


def last_day(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The last day of the data: of the visits, else of the loans and needs; None when there is nothing."""
    (day,) = con.execute(
        "select coalesce((select max(local_day) from marts.fct_visits),"
        " greatest((select max(start_date) from marts.fct_devices), (select max(identified_on) from marts.fct_needs)))"
    ).fetchone()
    return day


def index_page(pages: list[Page], downloads: list[str]) -> Page:
    """The index: what each page shows, the date of the data, a link to every page and download."""
    sections = [Section("Pages", [Links([Link(page.filename, page.title, page.summary) for page in pages])])]
    if downloads:
        files = Links([Link(name, name, DOWNLOADS[name]) for name in downloads])
        sections.append(Section("Chiffres à télécharger", [files]))
    return Page("index.html", "Tableaux de bord de l'ENT des collèges",
                "Fréquentation de l'ENT, équipement des élèves, chiffres pour la presse et qualité des données.",
                pages[0].data_date, sections, nav_label="Accueil")


def build_pages(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[list[Page], dict[str, str]]:
    """Every page but the index, and the press downloads (file name → text)."""
    threshold, day = settings.small_count_threshold, last_day(con)
    if day is None or con.execute("select count(*) from marts.fct_visits").fetchone()[0] == 0:
        press, downloads = empty_press_page(), {}
        data_date = "Aucune visite pour l'instant."
    else:
        figures = headline_figures(con, *data_span(con))
        press = press_page(figures, threshold, settings.visit_timeout_minutes)
        downloads = {"headline.json": render_headline(figures, "json", "fr", settings) + "\n",
                     "headline.csv": headline_csv(figures)}
        data_date = data_date_text(figures)
    pages = [
        usage_page(con, threshold, data_date),
        equipment_page(con, day or dt.date.today(), threshold, data_date),
        press,
        quality_page(con, quality_report(settings), ledger_path(settings), data_date),
    ]
    return pages, downloads


def publish(settings: Settings) -> list[Path]:
    """Write the index, every dashboard page and the press downloads; return the files written."""
    con = open_warehouse(settings)
    try:
        pages, downloads = build_pages(con, settings)
    finally:
        con.close()
    written = write_pages(settings.dashboards_dir, [index_page(pages, list(downloads)), *pages])
    return written + [write_file(settings.dashboards_dir / name, text) for name, text in downloads.items()]
