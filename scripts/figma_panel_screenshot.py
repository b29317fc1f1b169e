"""Render the Figma plugin's panel headless against a live local service and save the README's
picture (docs/img/figma-panel.png): connected, a retro restyle of a selection finished, one
per-item error (an animated GIF fill, which the service leaves alone).

    .venv/bin/python scripts/figma_panel_screenshot.py [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.samples import sample_photo  # noqa: E402
from tests.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from tests.figma_panel_harness import PLUGIN_DIR, image_fill, node, panel_page  # noqa: E402
from tests.server_harness import LiveServer, png_bytes, server_settings  # noqa: E402


def main(out: Path) -> None:
    names = ("astronaut", "coffee", "chelsea", "rocket")
    images = {f"hash-{name}": png_bytes(sample_photo(name).resize((160, 120))) for name in names}
    images["hash-gif"] = (PLUGIN_DIR / "tests" / "fixtures" / "gradient-40x30.gif").read_bytes()
    layers = [node(f"4:{i}", n.title(), fills=[image_fill(f"hash-{n}")]) for i, n in enumerate(names)]
    layers.append(node("4:9", "Animated badge", fills=[image_fill("hash-gif")]))
    selection = [node("4:100", "Landing page", type="FRAME", children=layers)]
    with tempfile.TemporaryDirectory() as home, LiveServer(server_settings(Path(home))) as live:
        key = live.key("studio")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 380, "height": 580}, device_scale_factor=2)
            page.set_content(panel_page(images, selection))
            ui = page.frame_locator("#plugin-ui")
            ui.locator("#server").fill(live.url)
            ui.locator("#key").fill(key)
            ui.locator("#connect").click()
            expect(ui.locator("#connection-status")).to_have_text("Connected as studio")
            ui.locator("#theme").select_option("retro")
            ui.locator("#restyle").click()
            expect(ui.locator("#progress-text")).to_contain_text("Done:", timeout=60_000)
            # Show the address a developer types, not the test server's random port.
            ui.locator("#server").evaluate("el => { el.value = 'http://localhost:8000'; }")
            page.locator("#plugin-ui").screenshot(path=str(out))
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "figma-panel.png")
