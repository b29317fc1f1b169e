"""The web page's Batch panel in headless Chromium against a live server: a .zip of three
pictures edited for review, per-picture progress, the review grid (one picture rejected by
keyboard, one redone with another instruction), the zip built and downloaded, its contents
checked picture by picture; then the grid in Chinese at a phone's width, and axe-core's rules."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.batch_helpers import product
from tests.browser import chromium
from tests.server_harness import LiveServer, server_settings
from tests.test_web_page import DESKTOP, PHONE, Tab, assert_accessible

PICTURES = {"shop/mug.png": "coffee", "shop/cat.png": "chelsea", "shop/rocket.png": "rocket"}


def _png(photo: str) -> bytes:
    buffer = io.BytesIO()
    product(photo, (160, 120)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path / "home")) as server:
        yield server


def test_a_batch_is_reviewed_on_the_page_and_its_zip_holds_what_was_decided(
    live: LiveServer, tmp_path: Path
) -> None:
    originals = {name: _png(photo) for name, photo in PICTURES.items()}
    upload = tmp_path / "spring.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for name, data in originals.items():
            zf.writestr(name, data)
    key = live.key("shop")
    with chromium() as browser:
        tab = Tab(browser, live, locale="en-US", viewport=DESKTOP)
        page = tab.open(key)
        expect(page.locator("#conn")).to_have_text("connected")  # the socket is up: progress will come

        page.set_input_files("#batch-file", str(upload))
        expect(page.locator("#batch-file-name")).to_have_text("spring.zip")
        page.fill("#batch-prompt", "make it warmer")
        # Every status line the panel shows, to see the per-picture progress the socket brought.
        page.evaluate(
            """() => { const box = document.querySelector('#batch-status'); window.seen = [];
                 new MutationObserver(() => seen.push(box.textContent))
                   .observe(box, {childList: true, characterData: true, subtree: true}); }"""
        )
        page.click("#batch-form button[type=submit]")
        cards = page.locator("#batch-grid li")
        expect(cards).to_have_count(3, timeout=60_000)
        expect(page.locator("#batch-status")).to_have_text("3 pictures ready for review")
        seen = page.evaluate("window.seen")
        assert any(line.startswith("editing pictures: ") and line.endswith(" of 3") for line in seen), seen
        card = {name: cards.filter(has_text=name) for name in PICTURES}
        for name in PICTURES:
            expect(card[name].locator(".item-status")).to_have_text("edited · make it warmer")
            expect(card[name].get_by_role("img", name=f"{name} after")).to_be_visible()

        # Keyboard: reject the cat (the original goes in the zip); redo the rocket another way.
        card["shop/cat.png"].get_by_role("radio", name="Reject (keep the original)").focus()
        page.keyboard.press("Space")
        expect(card["shop/cat.png"].get_by_role("radio", name="Reject (keep the original)")).to_be_checked()
        redo = card["shop/rocket.png"].get_by_role("textbox", name="Another instruction for shop/rocket.png")
        redo.fill("make it brighter")
        redo.press("Enter")
        expect(card["shop/rocket.png"].locator(".item-status")).to_have_text(
            "edited · make it brighter", timeout=60_000
        )
        assert_accessible(page)

        page.click("#batch-build")
        link = page.locator("#batch-result a")
        expect(link).to_have_text("Download spring-edited.zip", timeout=60_000)
        expect(page.locator("#batch-result")).to_contain_text("2 edited, 1 kept as they were, 0 left out")
        with page.expect_download() as got:
            link.click()
        saved = tmp_path / got.value.suggested_filename
        got.value.save_as(saved)
        assert saved.name == "spring-edited.zip"

        job_id = page.evaluate("state.batch.jobId")
        with live.client(key) as client:
            items: dict[str, Any] = {
                i["output"]: i for i in client.get(f"/v1/batches/{job_id}").json()["items"]
            }
            after = {name: client.get(items[name]["after_url"]).content for name in PICTURES}
        with zipfile.ZipFile(saved) as zf:
            assert sorted(zf.namelist()) == sorted(PICTURES)
            assert zf.read("shop/cat.png") == originals["shop/cat.png"]  # rejected: as uploaded
            for name in ("shop/mug.png", "shop/rocket.png"):  # approved: edited
                assert zf.read(name) == after[name] != originals[name]
        assert items["shop/rocket.png"]["instruction"] == "make it brighter"

        # The grid in Chinese at a phone's width: one column, nothing wider than the screen.
        page.click("#lang")
        page.set_viewport_size(PHONE)
        expect(card["shop/mug.png"].get_by_role("radio", name="批准")).to_be_checked()
        expect(card["shop/mug.png"].get_by_role("button", name="重做")).to_be_disabled()  # reviewed
        expect(page.locator("#batch-build")).to_have_text("生成压缩包")
        expect(page.locator("#batch-result")).to_contain_text(
            "下载 spring-edited.zip · 2 张已修改，1 张保留原图"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for name in PICTURES:
            box = card[name].bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        assert_accessible(page)
        page.screenshot(path="/tmp/imgedit-page-batch-zh-phone.png", full_page=True)
        tab.close()
