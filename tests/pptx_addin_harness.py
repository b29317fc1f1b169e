"""The PowerPoint add-in's task pane in headless Chromium, with a stand-in ``Office`` object.

The real ``taskpane.html`` is loaded from a running service (``/addin/taskpane.html``, as
PowerPoint loads it from the manifest's SourceLocation). Before any of its scripts run,
``tests/office_standin.js`` defines ``Office`` and ``PowerPoint`` over a real deck served in
slices; the request for Microsoft's office.js is answered with an empty script (there is no
network here, and the stand-in plays its part). Used by tests/test_pptx_addin.py and by
scripts/pptx_addin_screenshot.py (docs/img/pptx-addin.png).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from playwright.sync_api import Page

ADDIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "pptx" / "addin"
STANDIN = Path(__file__).with_name("office_standin.js")
OFFICE_JS = "https://appsforoffice.microsoft.com/**"


def standin_script(deck: bytes, *, url: str, slice_size: int) -> str:
    """The init script: the deck and its slice size, then the stand-in itself."""
    spec = {"data": base64.b64encode(deck).decode(), "url": url, "sliceSize": slice_size}
    return f"window.STANDIN_DECK = {json.dumps(spec)};\n{STANDIN.read_text(encoding='utf-8')}"


def open_taskpane(
    page: Page,
    service_url: str,
    deck: bytes,
    *,
    url: str = "C:\\Decks\\deck.pptx",
    slice_size: int = 64 * 1024,
) -> None:
    """Load the task pane from the service with the stand-in Office serving ``deck``."""
    page.route(OFFICE_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    page.add_init_script(standin_script(deck, url=url, slice_size=slice_size))
    page.goto(f"{service_url}/addin/taskpane.html")


def connect(page: Page, key: str) -> None:
    """Enter the API key (the service address defaults to the pane's own origin) and connect."""
    page.fill("#api-key", key)
    page.click("#connect")
    page.wait_for_selector("#theme option", state="attached")
