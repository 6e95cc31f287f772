"""The one module that writes HTML: page layout, CSS, tables, cards, and how plotly.js is embedded.

plotly.js is embedded inline in every page that has a chart, so a page opens offline
and still works when mailed alone. Nothing is fetched: no CDN, no web font, no MathJax,
no map tiles (maps are drawn from the GeoJSON inside the figure).
"""

from __future__ import annotations

import functools
import json
import os
from html import escape
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from dashboards.model import Cards, Link, Links, Note, Page, Section, Table

SITE_TITLE = "ENT des collèges"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
PLOTLY_CONFIG = {
    "locale": "fr",
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
# French month and day names for date axes and hovers, and the modebar's tooltips.
FRENCH_LOCALE = {
    "moduleType": "locale",
    "name": "fr",
    "dictionary": {
        "Autoscale": "Échelle automatique", "Box Select": "Sélection rectangulaire",
        "Double-click to zoom back out": "Double-cliquez pour dézoomer",
        "Download plot as a png": "Télécharger en PNG",
        "Download plot": "Télécharger le graphique", "Lasso Select": "Sélection lasso", "Pan": "Déplacer",
        "Reset axes": "Réinitialiser les axes", "Reset view": "Réinitialiser la vue", "Reset": "Réinitialiser",
        "Show closest data on hover": "Afficher la donnée la plus proche",
        "Compare data on hover": "Comparer les données au survol", "Toggle Spike Lines": "Lignes de repère",
        "Zoom": "Zoom", "Zoom in": "Zoomer", "Zoom out": "Dézoomer",
        "Taking snapshot - this may take a few seconds": "Capture en cours…",
        "Snapshot succeeded": "Capture réussie", "Sorry, there was a problem downloading your snapshot!":
        "Désolé, la capture a échoué.",
        "Double-click on legend to isolate one trace": "Double-cliquez sur la légende pour isoler une série",
    },
    "format": {
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                   "octobre", "novembre", "décembre"],
        "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                        "nov.", "déc."],
        "date": "%d/%m/%Y",
        "decimal": ",",
        "thousands": " ",
    },
}

CSS = """
:root { --ink: #212529; --muted: #5c636a; --line: #dee2e6; --accent: #2a6f97; --paper: #f8f9fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 %(font)s; color: var(--ink); background: var(--paper); }
header { background: var(--accent); color: white; }
header nav { max-width: 1200px; margin: 0 auto; padding: .5rem 1rem;
  display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; align-items: baseline; }
header a { color: white; text-decoration: none; }
header a[aria-current] { font-weight: 700; text-decoration: underline; }
header .site { font-weight: 700; margin-right: 1rem; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.25rem; margin: 0 0 .5rem; }
section { background: white; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 1rem 0; }
.lede, .intro, .note, .data-date, footer { color: var(--muted); }
.note { font-size: .9rem; }
.chart { margin: .5rem 0 1rem; }
.table-wrap { max-height: 28rem; overflow: auto; margin: .5rem 0 1rem; border: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .4rem .5rem; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { position: sticky; top: 0; background: var(--paper); }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.raw { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .8rem;
  overflow-wrap: anywhere; min-width: 24rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; background: white; }
.card h3 { font-size: 1rem; margin: 0; }
.card .value { font-size: 2rem; font-weight: 700; margin: .25rem 0; color: var(--accent); }
.card ul { margin: 0 0 .5rem; padding-left: 1.2rem; }
.card .definition, .card .period { font-size: .85rem; color: var(--muted); margin: .25rem 0; }
.links li { margin: .5rem 0; }
footer { max-width: 1200px; margin: 0 auto; padding: 1rem; font-size: .85rem; }
""" % {"font": FONT}


# Geo charts draw from the GeoJSON they carry, but plotly.js still fetches a world base map from
# its CDN for any trace with a locationmode; an empty base map for every scope keeps pages offline.
GEO_SCOPES = ("world", "usa", "europe", "asia", "africa", "north-america", "south-america")
EMPTY_BASE_MAPS = {f"{scope}_{resolution}m": {"type": "Topology", "objects": {}, "arcs": []}
                   for scope in GEO_SCOPES for resolution in (50, 110)}


@functools.cache
def plotly_script() -> str:
    """plotly.js inline, then the French locale and the empty base maps: decided once, for every page with a chart."""
    locale = json.dumps(FRENCH_LOCALE, ensure_ascii=False)
    base_maps = json.dumps(EMPTY_BASE_MAPS)
    return (f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
            f"<script>Plotly.register({locale});\n"
            f"window.PlotlyGeoAssets = window.PlotlyGeoAssets || {{topojson: {{}}}};\n"
            f"Object.assign(window.PlotlyGeoAssets.topojson, {base_maps});</script>")


def _template() -> go.layout.Template:
    """The dashboards' look: plotly_white, system fonts, French number separators, no "5k" abbreviations."""
    template = go.layout.Template(pio.templates["plotly_white"])
    numbers = {"separatethousands": True, "exponentformat": "none"}
    template.layout.update(separators=", ", font={"family": FONT, "size": 13}, hoverlabel={"font": {"family": FONT}},
                           title={"x": 0, "xanchor": "left"}, xaxis=numbers, yaxis=numbers)
    for trace in (*template.data.heatmap, *template.data.choropleth):
        trace.colorbar.update(numbers)
    return template


TEMPLATE = _template()
# Written into each figure as it is: checking and copying a template costs plotly about 10 ms.
TEMPLATE_JSON = TEMPLATE.to_plotly_json()


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure as a div and the script that draws it, in the dashboards' look (whatever its own template)."""
    styled = fig.to_dict()
    styled["layout"]["template"] = TEMPLATE_JSON
    body = pio.to_html(styled, validate=False, full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config=PLOTLY_CONFIG, div_id=div_id, default_width="100%")
    return f'<div class="chart">{body}</div>'


NUMBER_CELL, RAW_CELL = ' class="num"', ' class="raw"'


def table_html(table: Table) -> str:
    """A table; every caption, header and cell is escaped."""
    kinds = [_cell_class(table, n) for n in range(len(table.columns))]
    head = "".join(f'<th scope="col"{kind if kind == NUMBER_CELL else ""}>{escape(column)}</th>'
                   for column, kind in zip(table.columns, kinds, strict=True))
    rows = "".join("<tr>" + "".join(f"<td{kind}>{escape(cell)}</td>" for cell, kind in zip(row, kinds, strict=True))
                   + "</tr>\n" for row in table.rows)
    if not table.rows:
        rows = f'<tr><td colspan="{len(table.columns)}">Aucune ligne.</td></tr>'
    return (f'<div class="table-wrap"><table><caption>{escape(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")


def _cell_class(table: Table, column: int) -> str:
    """Numbers align right; raw text (reject lines) wraps anywhere in a fixed-width font."""
    if table.numeric and table.numeric[column]:
        return NUMBER_CELL
    return RAW_CELL if column in table.raw_text else ""


def cards_html(cards: Cards) -> str:
    """Headline figures as cards: label, value, details, definition and period."""
    parts = []
    for card in cards.cards:
        details = "".join(f"<li>{escape(detail)}</li>" for detail in card.details)
        parts.append(
            f'<article class="card"><h3>{escape(card.label)}</h3><p class="value">{escape(card.value)}</p>'
            + (f"<ul>{details}</ul>" if details else "")
            + f'<p class="definition">{escape(card.definition)}</p>'
            + f'<p class="period">{escape(card.period)}</p></article>'
        )
    return f'<div class="cards">{"".join(parts)}</div>'


def links_html(links: Links) -> str:
    """A list of links with what each one holds."""
    items = "".join(f'<li><a href="{escape(link.href)}">{escape(link.label)}</a>'
                    + (f" : {escape(link.description)}" if link.description else "") + "</li>"
                    for link in links.links)
    return f'<ul class="links">{items}</ul>'


def item_html(item: object, div_id: str) -> str:
    """One item of a section, whatever its kind."""
    if isinstance(item, go.Figure):
        return figure_html(item, div_id)
    if isinstance(item, Table):
        return table_html(item)
    if isinstance(item, Cards):
        return cards_html(item)
    if isinstance(item, Links):
        return links_html(item)
    if isinstance(item, Note):
        return f'<p class="note">{escape(item.text)}</p>'
    raise TypeError(f"a dashboard section cannot hold a {type(item).__name__}")


def section_html(section: Section, page_id: str) -> str:
    """A titled section and its items; chart ids are derived from the page so output is reproducible."""
    items = "\n".join(item_html(item, f"{page_id}-{n}") for n, item in enumerate(section.items, start=1))
    intro = f'<p class="intro">{escape(section.intro)}</p>' if section.intro else ""
    return f"<section><h2>{escape(section.title)}</h2>{intro}\n{items}\n</section>"


def nav_html(pages: list[Link], current: str) -> str:
    """The header navigation to every page of the folder."""
    links = "".join(f'<a href="{escape(link.href)}"' + (' aria-current="page"' if link.href == current else "")
                    + f">{escape(link.label)}</a>" for link in pages)
    return f'<header><nav><span class="site">{escape(SITE_TITLE)}</span>{links}</nav></header>'


def page_html(page: Page, nav: list[Link]) -> str:
    """A whole page: plotly.js inline only when the page has a chart."""
    stem = page.filename.removesuffix(".html")
    has_chart = any(isinstance(item, go.Figure) for section in page.sections for item in section.items)
    sections = "\n".join(section_html(section, f"{stem}-{n}") for n, section in enumerate(page.sections, start=1))
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(page.title)} · {escape(SITE_TITLE)}</title>
<style>{CSS}</style>
{plotly_script() if has_chart else ""}
</head>
<body>
{nav_html(nav, page.filename)}
<main>
<h1>{escape(page.title)}</h1>
<p class="lede">{escape(page.summary)}</p>
<p class="data-date">{escape(page.data_date)}</p>
{sections}
</main>
<footer>{escape(SITE_TITLE)} · tableaux de bord statiques, consultables sans connexion.</footer>
</body>
</html>
"""


def write_file(path: Path, text: str) -> Path:
    """Write a file under a temporary name, then rename it into place: a reader never sees half a page."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def write_pages(directory: Path, pages: list[Page]) -> list[Path]:
    """Write every page into the folder, each with the navigation to all of them."""
    directory.mkdir(parents=True, exist_ok=True)
    nav = [Link(page.filename, page.nav_label or page.title) for page in pages]
    return [write_file(directory / page.filename, page_html(page, nav)) for page in pages]
