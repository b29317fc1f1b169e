"""The web page in headless Chromium (Debian's package, driven by Playwright) against a live server:
upload a photo, ask for an edit, see the edited image and the versions, undo, see the original."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import chromium
from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, server_settings


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[Page, LiveServer]]:
    with LiveServer(server_settings(tmp_path / "home")) as live, chromium() as browser:
        tab = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab, live
    assert errors == []


def test_upload_edit_see_versions_and_undo(page: tuple[Page, LiveServer], tmp_path: Path) -> None:
    tab, live = page
    photo = tmp_path / "coffee.png"
    skimage_photo("coffee").save(photo)
    tab.goto(live.url)
    tab.fill("#api-key", live.key("local"))
    tab.click("#key-form button")
    expect(tab.locator("#conn")).to_have_text("connected")
    expect(tab.locator("#themes button").first).to_be_visible()

    tab.set_input_files("#file-input", str(photo))
    expect(tab.locator("#timeline li")).to_have_count(1)
    original_src = tab.locator("#after-img").get_attribute("src")

    tab.fill("#message", "make it brighter")
    tab.click("#send")
    expect(tab.locator("#timeline li")).to_have_count(2, timeout=30_000)
    expect(tab.locator("#timeline li.head")).to_have_text("v1")
    expect(tab.locator("#chat li.bot").last.locator("img")).to_have_attribute("src", re.compile("^blob:"))
    expect(tab.locator("#progress")).to_be_hidden()
    expect(tab.locator("#compare")).to_have_class("has-before")  # the before/after slider is offered
    expect(tab.locator("#version-label")).to_contain_text("version 1")
    tab.screenshot(path="/tmp/imgedit-page-edited.png")

    tab.click("#undo")
    expect(tab.locator("#timeline li.head")).to_have_text("original")
    expect(tab.locator("#after-img")).to_have_attribute("src", original_src or "")
    expect(tab.locator("#redo")).to_be_enabled()
    tab.screenshot(path="/tmp/imgedit-page-undone.png")
