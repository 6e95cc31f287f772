"""How the dashboards are opened in a headless browser (browser tests, screenshots): Debian's Chromium, offline."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Nothing but the page itself: no background updates, sync, QUIC or first-run traffic.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP_VIEWPORT = {"width": 1366, "height": 768}
# True once every Plotly chart of the page has drawn its SVG.
ALL_CHARTS_DRAWN = "[...document.querySelectorAll('.js-plotly-plot')].every(plot => plot.querySelector('.main-svg'))"
