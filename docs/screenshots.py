"""Screenshots of the dashboards for the documentation, taken in headless Chromium at laptop size.

    python docs/screenshots.py data/dashboards            # writes docs/img/<page>.png and <page>-full.png

<page>.png is the first screen (1366×768), <page>-full.png the whole page. The browser is
Debian's /usr/bin/chromium driven by Playwright; nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards.browser import ALL_CHARTS_DRAWN, CHROMIUM, CHROMIUM_ARGS, LAPTOP_VIEWPORT

DEFAULT_OUT = Path(__file__).resolve().parent / "img"


def screenshot_pages(dashboards_dir: Path, out_dir: Path) -> list[Path]:
    """Open every HTML page of the folder and write its first screen and its whole length as PNG."""
    from playwright.sync_api import sync_playwright

    pages = sorted(dashboards_dir.glob("*.html"))
    if not pages:
        raise SystemExit(f"screenshots: no HTML page in {dashboards_dir}; run `ent-analytics demo` first")
    if not CHROMIUM.exists():
        raise SystemExit(f"screenshots: {CHROMIUM} is missing; install Debian's chromium package")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport=LAPTOP_VIEWPORT)
        for page in pages:
            tab.goto(page.resolve().as_uri(), wait_until="load")
            tab.wait_for_function(ALL_CHARTS_DRAWN, timeout=30_000)
            for name, full_page in ((f"{page.stem}.png", False), (f"{page.stem}-full.png", True)):
                tab.screenshot(path=str(out_dir / name), full_page=full_page)
                written.append(out_dir / name)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: the dashboards folder, and where to write the PNG files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dashboards_dir", type=Path, help="folder of the HTML pages, e.g. data/dashboards")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in screenshot_pages(args.dashboards_dir, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
