"""Render the PowerPoint add-in's task pane headless against a live local service and save the
docs' picture (docs/img/pptx-addin.png): connected, a Valentine restyle of a corpus deck done,
its download offered.

    .venv/bin/python scripts/pptx_addin_screenshot.py [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from tests.deck_helpers import CORPUS  # noqa: E402
from tests.pptx_addin_harness import connect, open_taskpane  # noqa: E402
from tests.server_harness import LiveServer, server_settings  # noqa: E402


def main(out: Path) -> None:
    deck = (CORPUS / "ececapstonespring2012.pptx").read_bytes()
    with (
        tempfile.TemporaryDirectory() as home,
        LiveServer(server_settings(Path(home))) as live,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 340, "height": 600}, device_scale_factor=2)
        open_taskpane(page, live.url, deck, url="C:\\Decks\\Capstone.pptx")
        connect(page, live.key("office"))
        page.select_option("#theme", "valentine")
        page.select_option("#pictures", "all")  # its pictures are diagrams and drawn backgrounds
        page.check("#theme-colors")
        page.click("#restyle")
        expect(page.locator("#download")).to_be_visible(timeout=60_000)
        # Show the address a user types, not the test server's random port.
        page.locator("#service").evaluate("el => { el.value = 'https://localhost:8000'; }")
        page.locator("#connection").evaluate("el => { el.open = true; }")
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "pptx-addin.png")
