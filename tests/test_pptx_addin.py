"""The PowerPoint add-in: its manifest, and its task pane in headless Chromium against the running
service, with a stand-in ``Office`` object serving a real corpus deck in 64 KiB slices."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import Browser, Page, expect
from pptx import Presentation

from tests.browser import chromium
from tests.deck_helpers import CORPUS, changed_parts
from tests.pptx_addin_harness import ADDIN_DIR, connect, open_taskpane
from tests.server_harness import LiveServer, server_settings

ECE = CORPUS / "ececapstonespring2012.pptx"
ECE_PICTURES = {f"ppt/media/image{n}.png" for n in (1, 2, 3, 4, 5)}
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SERVICE = "https://localhost:8000"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path_factory.mktemp("addin-home"))) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 720}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def test_manifest_is_a_powerpoint_taskpane_served_by_the_service(live: LiveServer) -> None:
    root = etree.parse(str(ADDIN_DIR / "manifest.xml")).getroot()
    assert root.tag == f"{{{NS['o']}}}OfficeApp"
    assert root.get(f"{{{NS['xsi']}}}type") == "TaskPaneApp"
    assert [h.get("Name") for h in root.findall("o:Hosts/o:Host", NS)] == ["Presentation"]
    assert root.find("o:DefaultSettings/o:SourceLocation", NS).get("DefaultValue") == (
        f"{SERVICE}/addin/taskpane.html"
    )
    assert root.find("o:Permissions", NS).text == "ReadWriteDocument"
    # The ribbon button opens the same page.
    action = root.find(".//v:Control/v:Action", NS)
    assert action.get(f"{{{NS['xsi']}}}type") == "ShowTaskpane"
    resid = action.find("v:SourceLocation", NS).get("resid")
    assert root.find(f".//bt:Url[@id='{resid}']", NS).get("DefaultValue") == f"{SERVICE}/addin/taskpane.html"
    # Every file the manifest names under /addin/ is served by the service.
    urls = {e.get("DefaultValue") for e in root.iter() if (e.get("DefaultValue") or "").startswith(SERVICE)}
    addin_files = {u.removeprefix(f"{SERVICE}/addin/") for u in urls if u.startswith(f"{SERVICE}/addin/")}
    assert addin_files == {"taskpane.html", "icon-16.png", "icon-32.png", "icon-64.png", "icon-80.png"}
    with live.client() as client:
        for name in [*addin_files, "taskpane.js", "taskpane.css", "manifest.xml"]:
            assert client.get(f"/addin/{name}").status_code == 200, name


def test_taskpane_restyles_the_open_deck_and_offers_it(live: LiveServer, page: Page, tmp_path: Path) -> None:
    deck = ECE.read_bytes()
    open_taskpane(page, live.url, deck, url="C:\\Decks\\Capstone.pptx")
    expect(page.locator("#service")).to_have_value(live.url)  # served by the service: its own address
    connect(page, live.key())
    expect(page.locator("#conn")).to_have_text("connected")
    page.select_option("#theme", "valentine")
    page.select_option("#pictures", "all")  # the deck's pictures are diagrams and drawn backgrounds
    page.check("#theme-colors")
    page.click("#restyle")
    expect(page.locator("#download")).to_be_visible(timeout=60_000)

    calls = page.evaluate("window.STANDIN_CALLS")
    assert calls["getFile"] == [{"type": "compressed", "sliceSize": 4 * 1024 * 1024}]
    assert calls["slices"] == [0, 1, 2] and len(deck) > 2 * 64 * 1024  # three 64 KiB slices
    assert calls["closed"] == 1
    progress = page.evaluate("window.STANDIN_PROGRESS")
    assert "Reading the deck: 3 of 3 parts" in progress
    # Each picture moved the bar forward (the state answered to subscribe may repeat a step).
    steps = [t for t in progress if t.startswith("Restyling")]
    assert [t for i, t in enumerate(steps) if i == 0 or steps[i - 1] != t] == [
        f"Restyling pictures: {n} of 4" for n in range(5)
    ]
    expect(page.locator("#progress .bar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#result-text")).to_have_text(
        "5 pictures restyled, 20 theme colours changed: Capstone-restyled.pptx"
    )
    expect(page.locator("#error")).to_be_hidden()

    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "Capstone-restyled.pptx"
    restyled = tmp_path / download.suggested_filename
    download.save_as(restyled)
    assert len(Presentation(str(restyled)).slides) == 24
    assert changed_parts(ECE, restyled) == ECE_PICTURES | {"ppt/theme/theme1.xml", "ppt/theme/theme2.xml"}

    expect(page.locator("#insert")).to_be_visible()
    page.click("#insert")
    expect(page.locator("#result-text")).to_contain_text("inserted")
    inserted = page.evaluate("window.STANDIN_CALLS.inserted")
    assert base64.b64decode(inserted[0]["base64"]) == restyled.read_bytes()
    assert inserted[0]["options"] == {"formatting": "KeepSourceFormatting"}


def test_taskpane_shows_errors_in_the_panel(live: LiveServer, page: Page) -> None:
    broken = (CORPUS / "fuzzed-broken-zip.pptx").read_bytes()
    open_taskpane(page, live.url, broken, url="https://contoso.sharepoint.com/Decks/Q3%20plan.pptx")
    page.fill("#api-key", "ik_nobody_nothing")
    page.click("#connect")
    expect(page.locator("#error")).to_contain_text("API key")
    expect(page.locator("#conn")).to_have_text("not connected")
    expect(page.locator("#restyle")).to_be_disabled()

    connect(page, live.key())
    page.check("input[value=prompt]")
    page.click("#restyle")
    expect(page.locator("#error")).to_have_text("Write an instruction first, e.g. “make it warmer”.")
    page.fill("#prompt", "make it warmer")
    page.click("#restyle")
    expect(page.locator("#error")).to_contain_text("Q3 plan.pptx is a damaged zip archive")
    expect(page.locator("#result")).to_be_hidden()
    assert page.evaluate("window.STANDIN_CALLS.closed") == 1  # the file was closed after reading
