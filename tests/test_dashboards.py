"""Dashboard builders and pages on a hand-written warehouse (tests/dashboard_fixtures.py): traces, titles, tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import pytest

from dashboard_fixtures import A, B, HOSTILE_NAME, X, build_warehouse
from dashboards import build_pages, publish
from dashboards.data_quality import csv_reject_examples, log_lines_per_day, rejects_by_reason, skipped_files_table
from dashboards.equipment import (
    college_needs, coverage_by_group, days_to_equipment, devices_by_type_and_recipient, devices_over_time,
    devices_table, unmet_table,
)
from dashboards.html import figure_html, plotly_script, table_html
from dashboards.model import Table
from dashboards.press import press_page
from dashboards.usage import (
    college_visits, commune_map, communes, daily_by_profile, hour_weekday_heatmap, ranking_figure, ranking_table,
    services_bar, spaces_per_week,
)
from pipelines.french import format_int, format_percent
from pipelines.headline import data_span, headline_figures
from pipelines.settings import Settings

DAYS = [dt.date(2020, 3, 13) + dt.timedelta(days=n) for n in range(11)]
PAGES = ["index.html", "usage.html", "equipment.html", "press.html", "quality.html"]
AS_OF = dt.date(2020, 3, 23)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_warehouse(tmp_path_factory.mktemp("dashboards"))


@pytest.fixture(scope="module")
def con(settings: Settings) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(settings.warehouse_dir / "ent.duckdb"), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def published(settings: Settings) -> dict[str, str]:
    paths = publish(settings)
    return {path.name: path.read_text(encoding="utf-8") for path in paths}


def trace(fig: go.Figure, name: str) -> go.BaseTraceType:
    (found,) = [t for t in fig.data if t.name == name]
    return found


# ---- usage ------------------------------------------------------------------------------------------


def test_daily_visits_are_drawn_per_profile_with_the_exact_total(con: duckdb.DuckDBPyConnection) -> None:
    fig = daily_by_profile(con, "visits", threshold=5)
    assert fig.layout.title.text == "Visites par jour et par profil"
    assert [t.name for t in fig.data] == ["Élèves", "Enseignants", "Parents", "Anonymes (sans connexion)", "Total"]
    assert all(t.type == "scatter" and list(t.x) == DAYS for t in fig.data)
    assert list(trace(fig, "Élèves").y) == [6, 0, 0, 32, 10, 0, 0, 0, 0, 0, 8]
    assert list(trace(fig, "Total").y) == [8, 0, 0, 39, 15, 0, 0, 0, 0, 0, 8]


def test_daily_page_views_sum_the_visits_page_views(con: duckdb.DuckDBPyConnection) -> None:
    fig = daily_by_profile(con, "page_views", threshold=5)
    assert fig.layout.title.text == "Pages vues par jour et par profil"
    assert list(trace(fig, "Élèves").y) == [12, 0, 0, 77, 40, 0, 0, 0, 0, 0, 8]
    assert list(trace(fig, "Enseignants").y) == [6, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0]


def test_small_daily_counts_are_missing_with_a_hover_text(con: duckdb.DuckDBPyConnection) -> None:
    teachers = trace(daily_by_profile(con, "visits", threshold=5), "Enseignants")
    assert list(teachers.y)[:5] == [None, 0, 0, 0, 5]
    assert list(teachers.customdata)[:5] == ["< 5", "0", "0", "0", "5"]
    parents = trace(daily_by_profile(con, "visits", threshold=5), "Parents")
    assert parents.y[3] is None and parents.customdata[3] == "< 5"
    assert trace(daily_by_profile(con, "visits", threshold=2), "Parents").y[3] == 3


def test_the_start_of_the_lockdown_is_marked(con: duckdb.DuckDBPyConnection) -> None:
    fig = daily_by_profile(con, "visits", threshold=5)
    (line,) = fig.layout.shapes
    assert (line.x0, line.x1, line.yref) == (dt.date(2020, 3, 16), dt.date(2020, 3, 16), "paper")
    assert fig.layout.annotations[0].text == "Début du confinement (16 mars 2020)"


def test_heatmap_counts_page_views_by_weekday_and_hour(con: duckdb.DuckDBPyConnection) -> None:
    (heatmap,) = hour_weekday_heatmap(con, threshold=5).data
    assert heatmap.type == "heatmap"
    assert list(heatmap.y) == ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
    assert list(heatmap.x)[9] == "9 h" and len(heatmap.x) == 24
    z = [list(row) for row in heatmap.z]
    assert (z[0][9], z[0][10], z[1][10], z[4][8], z[4][10]) == (67, 8, 50, 6, 12)
    assert z[0][20] is None and heatmap.customdata[0][20] == "< 5"
    assert z[6] == [0] * 24


def test_services_are_ranked_by_page_views_and_escaped(con: duckdb.DuckDBPyConnection) -> None:
    (bars,) = services_bar(con, threshold=5).data
    assert list(bars.y) == ["espaces", "messagerie", "cahier-de-textes", "&lt;b&gt;ressources&lt;/b&gt;", "accueil"]
    assert list(bars.x) == [110, 22, 16, 8, None]
    assert [row[1] for row in bars.customdata] == ["35", "16", "7", "8", "< 5"]
    (hidden,) = services_bar(con, threshold=5).layout.annotations
    assert (hidden.text, hidden.y, hidden.x) == ("< 5", "accueil", 0)


def test_collaborative_spaces_are_counted_per_week(con: duckdb.DuckDBPyConnection) -> None:
    fig = spaces_per_week(con, threshold=5)
    assert fig.layout.title.text == "Espaces collaboratifs utilisés par semaine"
    (bars,) = fig.data
    assert list(bars.x) == ["Semaine du 9 mars 2020", "Semaine du 16 mars 2020"]
    assert list(bars.y) == [None, 6]


def test_colleges_are_ranked_by_visits_per_pupil(con: duckdb.DuckDBPyConnection) -> None:
    colleges = college_visits(con)
    assert {c.uai: c.visits for c in colleges} == {A: 46, B: 15, X: 5}
    (bars,) = ranking_figure(colleges, threshold=5).data
    assert list(bars.y) == ["Collège Les Tilleuls (Asnières-sur-Seine)", "Collège Jean Moulin (Bourg-la-Reine)",
                            "&lt;img src=x onerror=alert(1)&gt; (Antony)"]
    assert list(bars.x) == pytest.approx([0.115, 0.075, 0.05])
    table = ranking_table(colleges, threshold=5)
    assert table.rows[0] == ["1", "Collège Les Tilleuls", "Asnières-sur-Seine", "400", "46", "0,12"]


def test_a_college_with_few_visits_is_unranked_and_hidden(con: duckdb.DuckDBPyConnection) -> None:
    colleges = college_visits(con)
    (bars,) = ranking_figure(colleges, threshold=6).data
    assert len(bars.y) == 2
    assert ranking_table(colleges, threshold=6).rows[-1] == ["—", HOSTILE_NAME, "Antony", "100", "< 6", "—"]


def test_the_map_colours_communes_without_tiles(con: duckdb.DuckDBPyConnection) -> None:
    fig = commune_map(college_visits(con), 5, communes())
    assert [t.type for t in fig.data] == ["choropleth", "choropleth", "scattergeo"]
    grey, coloured, points = fig.data
    assert len(grey.locations) + len(coloured.locations) == 36
    assert dict(zip(coloured.locations, coloured.z, strict=True)) == pytest.approx(
        {"92002": 0.05, "92004": 0.115, "92014": 0.075})
    assert coloured.featureidkey == "properties.code" and coloured.geojson["type"] == "FeatureCollection"
    assert (fig.layout.geo.fitbounds, fig.layout.geo.visible) == ("locations", False)
    assert list(points.lat) == [48.9145, 48.78, 48.754]
    assert points.text[2].startswith("&lt;img src=x onerror=alert(1)&gt; (Antony)")


def test_a_commune_with_few_visits_stays_grey(con: duckdb.DuckDBPyConnection) -> None:
    grey, coloured, _ = commune_map(college_visits(con), 6, communes()).data
    assert "92002" in grey.locations and "92002" not in coloured.locations
    assert "Antony<br>masqué (effectif < 6)" in grey.text[list(grey.locations).index("92002")]


# ---- equipment --------------------------------------------------------------------------------------


def test_devices_by_type_and_recipient(con: duckdb.DuckDBPyConnection) -> None:
    fig = devices_by_type_and_recipient(con, threshold=5)
    assert fig.layout.title.text == "Équipements fournis par type et par destinataire"
    pupils, teachers = fig.data
    assert list(pupils.x) == ["Ultraportables", "Tablettes", "PC reconditionnés"]
    assert (pupils.name, list(pupils.y), list(pupils.customdata)) == ("Élèves", [6, None, 0], ["6", "< 5", "0"])
    assert (teachers.name, list(teachers.y)) == ("Enseignants", [None, 0, None])
    assert list(devices_by_type_and_recipient(con, threshold=1).data[1].y) == [1, 0, 1]


def test_devices_table_hides_small_cells_but_not_the_total(con: duckdb.DuckDBPyConnection) -> None:
    table = devices_table(con, threshold=5)
    assert table.rows[0] == ["Ultraportables", "7", "0", "6", "< 5", "7"]
    assert table.rows[-1] == ["Total", "8", "< 5", "8", "< 5", "10"]


def test_devices_in_service_each_day(con: duckdb.DuckDBPyConnection) -> None:
    fig = devices_over_time(con, AS_OF, threshold=1)
    days = [dt.date(2020, 3, 17) + dt.timedelta(days=n) for n in range(7)]
    assert list(trace(fig, "Total").x) == days
    assert list(trace(fig, "Total").y) == [1, 7, 8, 10, 9, 9, 9]
    assert list(trace(fig, "PC reconditionnés").y) == [0, 0, 1, 1, 0, 0, 0]
    assert list(trace(devices_over_time(con, AS_OF, threshold=5), "Ultraportables").y) == [None, 7, 7, 7, 7, 7, 7]


def test_needs_coverage_per_college_on_the_last_day(con: duckdb.DuckDBPyConnection) -> None:
    needs = {c.uai: c for c in college_needs(con, AS_OF)}
    assert [(n.group, n.identified, n.covered, n.waiting_since) for n in (needs[A], needs[B], needs[X])] == [
        ("REP+", 8, 6, dt.date(2020, 3, 17)), ("REP", 3, 0, dt.date(2020, 3, 18)),
        ("Autres collèges", 3, 2, dt.date(2020, 3, 19))]
    before = {c.uai: c for c in college_needs(con, dt.date(2020, 3, 17))}
    assert (before[A].identified, before[A].covered) == (8, 0) and B not in before


def test_coverage_by_priority_group(con: duckdb.DuckDBPyConnection) -> None:
    (bars,) = coverage_by_group(college_needs(con, AS_OF), threshold=5).data
    assert list(bars.x) == ["REP+", "REP", "Autres collèges"]
    assert list(bars.y) == [75.0, None, None]
    fig = coverage_by_group(college_needs(con, AS_OF), threshold=5)
    assert [(note.x, note.text) for note in fig.layout.annotations] == [("REP", "effectif < 5"),
                                                                        ("Autres collèges", "effectif < 5")]
    assert list(coverage_by_group(college_needs(con, AS_OF), threshold=3).data[0].y) == pytest.approx([75, 0, 200 / 3])


def test_unmet_needs_longest_wait_first(con: duckdb.DuckDBPyConnection) -> None:
    table = unmet_table(college_needs(con, AS_OF), AS_OF, threshold=5)
    assert table.caption == "Collèges ayant des besoins non couverts au 23 mars 2020"
    assert [row[0] for row in table.rows] == ["Collège Les Tilleuls", "Collège Jean Moulin", HOSTILE_NAME]
    assert table.rows[0][3:] == ["< 5", "17 mars 2020", "6"]
    assert unmet_table(college_needs(con, AS_OF), AS_OF, threshold=1).rows[1][3] == "3"


def test_days_from_identification_to_equipment(con: duckdb.DuckDBPyConnection) -> None:
    (bars,) = days_to_equipment(con, AS_OF, threshold=5).data
    assert list(bars.x)[:3] == ["le jour même", "1 à 3 jours", "4 à 7 jours"]
    assert list(bars.y)[:3] == [0, 6, None]
    assert list(days_to_equipment(con, dt.date(2020, 3, 19), threshold=1).data[0].y)[:3] == [0, 6, 0]


# ---- data quality -----------------------------------------------------------------------------------


def test_log_lines_accepted_and_rejected_per_day(con: duckdb.DuckDBPyConnection) -> None:
    accepted, rejected = log_lines_per_day(con).data
    assert list(accepted.x) == [dt.date(2020, 3, 13), dt.date(2020, 3, 16)]
    assert (list(accepted.y), list(rejected.y)) == ([120, 340], [2, 1])
    assert rejects_by_reason(con).rows[0] == ["unparseable line", "5", "3", "13 mars 2020", "13 mars 2020"]


def test_skipped_files_name_the_file_with_the_same_content(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    table = skipped_files_table(con, settings.warehouse_dir / "ledger.parquet")
    assert table.rows == [["logs/<b>copie</b>.log.gz", "journaux d'accès", "logs/access.log-20200314.gz"]]
    assert skipped_files_table(con, settings.warehouse_dir / "missing.parquet").rows == []


def test_csv_rejects_come_with_examples(con: duckdb.DuckDBPyConnection) -> None:
    rows = csv_reject_examples(con).rows
    assert [(row[0], row[1]) for row in rows] == [("loans/prets-2020-03-20.csv", "4"),
                                                 ("loans/prets-2020-03-20.csv", "7"), ("needs/besoins.csv", "3")]
    assert "<script>alert(2)</script>" in rows[0][3]


# ---- HTML -------------------------------------------------------------------------------------------


def test_tables_escape_every_cell() -> None:
    html = table_html(Table("<i>caption</i>", ["<th>"], [[HOSTILE_NAME]]))
    assert HOSTILE_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;i&gt;caption&lt;/i&gt;" in html


def test_figures_are_drawn_in_french_without_mathjax(con: duckdb.DuckDBPyConnection) -> None:
    html = figure_html(daily_by_profile(con, "visits", threshold=5), "chart-1")
    assert '"locale": "fr"' in html and '"separators":", "' in html
    assert "<script src" not in html and "MathJax" not in html


def test_pages_are_self_contained(published: dict[str, str]) -> None:
    assert set(PAGES) | {"headline.json", "headline.csv"} == set(published)
    for name in ("usage.html", "equipment.html", "quality.html"):
        assert published[name].count(plotly_script()) == 1, name
        assert re.search(r"plotly\.js v\d", plotly_script())
    for name in PAGES:
        page = published[name].replace(plotly_script(), "")
        assert not re.search(r"<script[^>]+src=|<link|<iframe|<img|@import|url\(|MathJax", page), name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), name


def test_index_links_every_page_and_download(published: dict[str, str], settings: Settings) -> None:
    links = set(re.findall(r'<a href="([^"]+)"', published["index.html"]))
    assert set(published) - {"index.html"} <= links
    assert all((settings.dashboards_dir / link).is_file() for link in links)
    assert "Données arrêtées au 23 mars 2020." in published["index.html"]


def test_data_from_the_warehouse_is_escaped_on_every_page(published: dict[str, str]) -> None:
    for name in PAGES:
        for payload in (HOSTILE_NAME, "<script>alert(2)</script>", "<b>copie</b>", "<b>ressources</b>"):
            assert payload not in published[name], (name, payload)
    assert "&lt;img src=x onerror=alert(1)&gt;" in published["usage.html"]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in published["quality.html"]


def page_cards(html: str) -> dict[str, str]:
    """Card title → value, as a page shows them."""
    return dict(re.findall(r'<h3>([^<]+)</h3><p class="value">([^<]+)</p>', html))


def test_press_page_shows_the_headline_figures(con: duckdb.DuckDBPyConnection, published: dict[str, str]) -> None:
    figures = headline_figures(con, *data_span(con))
    cards = page_cards(published["press.html"])
    assert cards["Visites"] == format_int(figures["visits"]) == "70"
    assert cards["Pages vues"] == format_int(figures["page_views"]) == "160"
    assert cards["Visiteurs uniques"] == format_int(figures["unique_visitors"])
    assert cards["Espaces collaboratifs utilisés"] == format_int(figures["collaborative_spaces_used"]) == "7"
    assert cards["Équipements remis"] == format_int(figures["devices"]["provided_in_period"]["total"]) == "10"
    assert cards["Équipements en service"] == format_int(figures["devices"]["in_service_at_end"]["total"]) == "9"
    assert cards["Besoins en équipement couverts"] == format_percent(figures["needs"]["coverage_rate"]) == "57,1 %"
    assert "Du 13 au 23 mars 2020" in published["press.html"]
    assert json.loads(published["headline.json"]) == figures
    assert published["headline.csv"].startswith("figure,value,period_start,period_end,data_date\nvisits,70,")


def test_press_page_hides_small_breakdowns(con: duckdb.DuckDBPyConnection) -> None:
    page = press_page(headline_figures(con, *data_span(con)), threshold=5, timeout_minutes=30)
    provided = page.sections[1].items[0].cards[0]
    assert provided.details == ["Ultraportables : 7", "Tablettes : < 5", "PC reconditionnés : < 5",
                                "à des élèves : 8", "à des enseignants : < 5"]
    profiles = page.sections[2].items[0]
    assert ["Parents", "< 5", "< 5", "< 5"] in profiles.rows
    assert profiles.rows[-1] == ["Total", "70", "160", "20"]


def test_publishing_an_empty_warehouse_writes_pages_that_say_so(tmp_path: Path) -> None:
    settings = build_warehouse(tmp_path, rows=False)
    with duckdb.connect(str(settings.warehouse_dir / "ent.duckdb"), read_only=True) as con:
        pages, downloads = build_pages(con, settings)
    assert downloads == {}
    assert [page.filename for page in pages] == PAGES[1:]
    written = publish(settings)
    assert {path.name for path in written} == set(PAGES)
    assert "Aucune donnée pour l'instant" in (settings.dashboards_dir / "usage.html").read_text(encoding="utf-8")


def test_quality_page_shows_the_quality_report(settings: Settings, published: dict[str, str]) -> None:
    from pipelines.quality import quality_report

    report = quality_report(settings)
    cards = page_cards(published["quality.html"])
    assert cards["Fichiers intégrés"] == format_int(report["files_ingested"]) == "4"
    assert cards["Fichiers ignorés"] == format_int(report["files_skipped_duplicate"]) == "1"
    assert cards["Lignes de journaux lues"] == format_int(report["log_lines_read"]) == "466"
    assert cards["Lignes CSV rejetées"] == "3"
