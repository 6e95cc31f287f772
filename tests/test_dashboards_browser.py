"""Every dashboard page opened from file:// in headless Chromium: drawn, offline, silent, and inert to hostile data."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard_fixtures import HOSTILE_NAME, build_warehouse
from dashboards import publish
from dashboards.browser import ALL_CHARTS_DRAWN, CHROMIUM, CHROMIUM_ARGS, LAPTOP_VIEWPORT

pytestmark = pytest.mark.browser

PAGES = ["index.html", "usage.html", "equipment.html", "press.html", "quality.html"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dashboards_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = build_warehouse(tmp_path_factory.mktemp("browser"))
    publish(settings)
    return settings.dashboards_dir


class Visit:
    """A page opened in a fresh browser context, with every request, console error and dialog it caused."""

    def __init__(self, browser: object, path: Path) -> None:
        self.url = path.as_uri()
        self.context = browser.new_context(viewport=LAPTOP_VIEWPORT)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_function(ALL_CHARTS_DRAWN, timeout=20_000)

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def texts(locator: object) -> list[str]:
    """The text of SVG elements, which have no innerText."""
    return locator.evaluate_all("elements => elements.map(element => element.textContent)")


@pytest.fixture(scope="module")
def visit(browser: object, dashboards_dir: Path) -> Iterator:
    """Open each page once for the whole module (a page carries 4 MB of plotly.js), then close them."""
    visits: dict[str, Visit] = {}

    def open_page(name: str) -> Visit:
        if name not in visits:
            visits[name] = Visit(browser, dashboards_dir / name)
        return visits[name]

    yield open_page
    for opened in visits.values():
        opened.context.close()


@pytest.mark.parametrize(("name", "charts"), [("index.html", 0), ("usage.html", 7), ("equipment.html", 6),
                                             ("press.html", 0), ("quality.html", 2)])
def test_every_page_draws_offline_without_error(visit, dashboards_dir: Path, name: str, charts: int) -> None:
    opened = visit(name)
    plots = opened.page.locator(".js-plotly-plot")
    assert plots.count() == charts == (dashboards_dir / name).read_text(encoding="utf-8").count("Plotly.newPlot(")
    for n in range(plots.count()):
        assert plots.nth(n).locator("svg.main-svg").count() >= 1, f"chart {n + 1} of {name} not drawn"
    opened.page.wait_for_timeout(300)
    assert opened.requests == [opened.url]
    assert opened.errors == []
    assert opened.dialogs == []
    assert opened.page.locator("img[src=x]").count() == 0


def test_the_index_links_every_page(visit, dashboards_dir: Path) -> None:
    opened = visit("index.html")
    hrefs = set(opened.page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))"))
    assert set(PAGES[1:]) | {"headline.json", "headline.csv"} <= hrefs
    assert all((dashboards_dir / href).is_file() for href in hrefs)
    nav = set(opened.page.locator("header a").evaluate_all("links => links.map(a => a.getAttribute('href'))"))
    assert nav == set(PAGES)


def test_a_college_named_like_html_is_shown_as_text(visit) -> None:
    opened = visit("usage.html")
    assert opened.page.locator("td", has_text=HOSTILE_NAME).count() >= 1
    ticks = texts(opened.page.locator(".ytick text"))
    assert f"{HOSTILE_NAME} (Antony)" in ticks
    # Hover the collège's bar and the map's point: Plotly renders hover labels from the data.
    opened.page.evaluate(
        "() => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
        " const chart = plots.find(p => p.layout.title.text.startsWith('Collèges classés'));"
        " Plotly.Fx.hover(chart, [{curveNumber: 0, pointNumber: 2}]); }")
    hover = "".join(texts(opened.page.locator(".hoverlayer text")))
    assert HOSTILE_NAME in hover
    opened.page.wait_for_timeout(300)
    assert opened.page.locator("img[src=x]").count() == 0
    assert opened.dialogs == [] and opened.errors == []


def test_the_quality_page_shows_reject_texts_as_text(visit) -> None:
    opened = visit("quality.html")
    assert opened.page.locator("td", has_text="<script>alert(2)</script>").count() == 1
    assert opened.page.locator("td", has_text="logs/<b>copie</b>.log.gz").count() == 2
    assert opened.dialogs == []


def test_french_dates_on_the_axes(visit) -> None:
    ticks = texts(visit("usage.html").page.locator(".xtick text"))
    assert any(re.fullmatch(r"\d{1,2} mars", tick) for tick in ticks), ticks
