"""The web page in headless Chromium (Debian's package, driven by Playwright) against one live
server, at 1280 px and at a phone's 390 px, in English and in Chinese: upload, edit, download the
version's exact bytes and its audit record, undo then edit again to see a branch in the version
tree, refusals with suggestion chips that send themselves, feedback on an empty message, the
language switch, the phone layout, and axe-core's accessibility rules (no serious or critical
violation). Screenshots go to /tmp/imgedit-page-*.png for a look."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser import axe_violations, chromium
from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, server_settings, wait_for_job

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path_factory.mktemp("page") / "home")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "coffee.png"
    skimage_photo("coffee").resize((320, 213)).save(path)
    return path


class Tab:
    """One browser context (a locale, a viewport) on the page, collecting the page's errors."""

    def __init__(self, browser: Browser, live: LiveServer, *, locale: str, viewport: dict[str, int]) -> None:
        self.context: BrowserContext = browser.new_context(
            locale=locale, viewport=viewport, accept_downloads=True
        )
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.live = live

    def open(self, key: str, *, session_id: str | None = None) -> Page:
        if session_id:  # a returning user: the page remembers the key and the session
            self.context.add_init_script(
                f"localStorage.setItem('imgedit.key', {json.dumps(key)});"
                f"localStorage.setItem('imgedit.session', {json.dumps(session_id)});"
            )
        self.page.goto(self.live.url)
        if not session_id:
            self.page.fill("#api-key", key)
            self.page.click("#key-form button")
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


def assert_accessible(page: Page) -> None:
    bad = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(
        [{k: v[k] for k in ("id", "impact", "help", "nodes")} for v in bad], indent=1
    )[:3000]


def version_bytes(live: LiveServer, key: str, path: str) -> bytes:
    with live.client(key) as client:
        response = client.get(path)
        response.raise_for_status()
        return response.content


def test_desktop_in_english(live: LiveServer, browser: Browser, photo: Path, tmp_path: Path) -> None:
    key = live.key("desktop")
    tab = Tab(browser, live, locale="en-US", viewport=DESKTOP)
    page = tab.open(key)
    expect(page.locator("#conn")).to_have_text("connected")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#send")).to_have_text("Send")
    expect(page.locator("#themes button[data-theme=retro]")).to_have_text("Retro")

    page.set_input_files("#file-input", str(photo))
    expect(page.locator("#timeline li")).to_have_count(1)
    expect(page.locator("#slider-row")).to_be_hidden()  # nothing to compare yet
    page.fill("#message", "make it brighter")
    page.click("#send")
    expect(page.locator("#timeline li")).to_have_count(2, timeout=30_000)
    expect(page.locator("#timeline li.head")).to_have_text("v1")
    expect(page.locator("#version-label")).to_have_text("image 1 · version 1 of 1")

    # The before/after slider is labelled, its divider is drawn, and it sits below the photo.
    expect(page.locator("#slider-row")).to_be_visible()
    expect(page.locator("#before-label")).to_have_text("Before")
    expect(page.locator("#after-label")).to_have_text("After")
    expect(page.locator("#divider")).to_be_visible()
    stage, slider = page.locator(".stage").bounding_box(), page.locator("#slider").bounding_box()
    assert stage and slider and slider["y"] >= stage["y"] + stage["height"]
    page.locator("#slider").fill("20")
    divider = page.locator("#divider").bounding_box()
    assert divider and abs(divider["x"] + 1 - (stage["x"] + 0.2 * stage["width"])) < 3

    # Download: the head version's exact bytes; the audit record from the menu.
    session = page.evaluate("state.session")
    head_id = session["images"][0]["head_version_id"]
    with page.expect_download() as got:
        page.click("#download")
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    assert saved.name == "coffee-v1.png"
    assert saved.read_bytes() == version_bytes(live, key, f"/v1/versions/{head_id}/image")
    page.click("#download-menu summary")
    with page.expect_download() as got:
        page.click("#download-audit")
    audit = tmp_path / got.value.suggested_filename
    got.value.save_as(audit)
    assert audit.name == "coffee-v1-audit.json"
    assert audit.read_bytes() == version_bytes(live, key, f"/v1/versions/{head_id}")
    assert json.loads(audit.read_bytes())["instruction"] == "make it brighter"

    # Undo, then a new edit: a second branch from the original, drawn on its own row.
    page.click("#undo")
    expect(page.locator("#timeline li.head")).to_have_text("original")
    page.fill("#message", "make it warmer")
    page.click("#send")
    expect(page.locator("#timeline li")).to_have_count(3, timeout=30_000)
    branch = page.locator("#timeline li.branch")
    expect(branch).to_have_count(1)
    expect(branch).to_have_text("v2")
    expect(branch.locator("button")).to_have_attribute(
        "aria-label", "version 2, a new branch from the original, make it warmer, current"
    )
    rows = page.eval_on_selector_all("#timeline li", "items => items.map(li => li.style.gridRow)")
    assert rows == ["1", "1", "2"]
    v1, v2 = (page.locator(f"#timeline li >> nth={n}").bounding_box() for n in (1, 2))
    assert v1 and v2 and v2["y"] > v1["y"] + v1["height"] and abs(v2["x"] - v1["x"]) < 2

    # A vague instruction is refused as such, with suggestions that send themselves.
    page.fill("#message", "make it nicer")
    page.click("#send")
    refusal = page.locator("#chat li.refusal")
    expect(refusal).to_be_visible(timeout=30_000)
    expect(refusal.locator("strong")).to_have_text("Can't do that as asked")
    expect(refusal).not_to_contain_text("imgedit themes")  # no command-line advice on the page
    chip = refusal.locator("button.chip", has_text="make it brighter")
    chip.click()
    expect(page.locator("#chat li.user").last).to_have_text("make it brighter")
    expect(page.locator("#timeline li")).to_have_count(4, timeout=30_000)

    assert_accessible(page)
    page.screenshot(path="/tmp/imgedit-page-en-desktop.png", full_page=True)
    tab.close()


def test_phone_in_chinese(live: LiveServer, browser: Browser, photo: Path) -> None:
    tab = Tab(browser, live, locale="zh-CN", viewport=PHONE)
    page = tab.open(live.key("phone"))
    expect(page.locator("#conn")).to_have_text("已连接")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#send")).to_have_text("发送")

    page.click("#send")  # nothing written: say so, next to the box
    expect(page.locator("#message-hint")).to_have_text("请先写下想怎么改，例如“提亮一点”。")
    expect(page.locator("#message")).to_have_attribute("aria-invalid", "")
    expect(page.locator("#chat li")).to_have_count(0)

    page.set_input_files("#file-input", str(photo))
    expect(page.locator("#timeline li")).to_have_count(1)
    expect(page.locator("#message-hint")).to_be_hidden()
    retro = page.locator("#themes button[data-theme=retro]")
    expect(retro).to_have_text("复古")
    retro.click()  # the theme button speaks the page's language
    expect(page.locator("#chat li.user").last).to_have_text("复古风格")
    expect(page.locator("#timeline li")).to_have_count(2, timeout=30_000)
    expect(page.locator("#chat li.bot").last).to_contain_text("已套用复古主题")
    expect(page.locator("#version-label")).to_have_text("图 1 · 第 1 版（共 1 版）")

    page.fill("#message", "让它更好看")
    page.click("#send")
    refusal = page.locator("#chat li.refusal")
    expect(refusal.locator("strong")).to_have_text("没法按这个要求修改", timeout=30_000)
    refusal.locator("button.chip", has_text="提亮一点").click()
    expect(page.locator("#chat li.user").last).to_have_text("提亮一点")
    expect(page.locator("#timeline li")).to_have_count(3, timeout=30_000)

    # The phone layout: one column, nothing wider than the screen, no scrolling box for the
    # image, undo, versions and themes (the page scrolls), and a chat area worth typing in.
    layout: dict[str, Any] = page.evaluate(
        """() => {
          const box = (s) => document.querySelector(s);
          return {
            pageWidth: document.documentElement.scrollWidth,
            pane: [box('#image-pane').scrollHeight, box('#image-pane').clientHeight],
            themes: [box('#themes').scrollHeight, box('#themes').clientHeight],
            chat: box('#chat').getBoundingClientRect().height,
          };
        }"""
    )
    assert layout["pageWidth"] <= PHONE["width"]
    assert layout["pane"][0] <= layout["pane"][1] + 1 and layout["themes"][0] <= layout["themes"][1] + 1
    assert layout["chat"] >= 0.35 * PHONE["height"]
    for selector in ("#undo", "#timeline", "#themes", "#download"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector

    assert_accessible(page)
    page.screenshot(path="/tmp/imgedit-page-zh-phone.png", full_page=True)
    page.click("#lang")  # switch to English: the words, and what theme buttons send
    expect(page.locator("#send")).to_have_text("Send")
    expect(retro).to_have_text("Retro")
    expect(page.locator("#version-label")).to_have_text("image 1 · version 2 of 2")
    tab.close()


@pytest.mark.parametrize(
    ("locale", "viewport", "name"), [("zh-CN", DESKTOP, "zh-desktop"), ("en-US", PHONE, "en-phone")]
)
def test_a_returning_user_sees_the_session_in_either_language_and_size(
    live: LiveServer, browser: Browser, photo: Path, locale: str, viewport: dict[str, int], name: str
) -> None:
    key = live.key(name)
    with live.client(key) as client:
        session_id = client.post("/v1/sessions", json={"title": name}).json()["id"]
        added = client.post(
            f"/v1/sessions/{session_id}/images",
            files={"file": ("coffee.png", photo.read_bytes(), "image/png")},
        ).json()
        job = client.post(
            f"/v1/sessions/{session_id}/edits",
            json={"instruction": "make it warmer", "image_id": added["image_id"]},
        ).json()
        assert wait_for_job(client, job["job_id"])["status"] == "done"
    tab = Tab(browser, live, locale=locale, viewport=viewport)
    page = tab.open(key, session_id=session_id)
    expect(page.locator("#timeline li")).to_have_count(2)
    expect(page.locator("#download")).to_have_text("下载" if locale == "zh-CN" else "Download")
    expect(page.locator("#slider-row")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=f"/tmp/imgedit-page-{name}.png", full_page=True)
    tab.close()


def test_without_a_chat_agent_edits_go_direct_and_refusals_still_offer_suggestions(
    browser: Browser, photo: Path, tmp_path: Path
) -> None:
    """A server whose agent cannot start: the page sends edits as edit jobs, and a refused job's
    error (its suggestions joined in one string) is shown as a refusal with chips all the same."""

    def no_agent(*_: object) -> Any:
        raise RuntimeError("no language model configured")

    with LiveServer(server_settings(tmp_path / "home"), agent_factory=no_agent) as bare:
        tab = Tab(browser, bare, locale="en-US", viewport=DESKTOP)
        page = tab.open(bare.key("bare"))
        page.set_input_files("#file-input", str(photo))
        expect(page.locator("#timeline li")).to_have_count(1)
        page.fill("#message", "make it nicer")
        page.click("#send")
        refusal = page.locator("#chat li.refusal")
        expect(refusal.locator("strong")).to_have_text("Can't do that as asked", timeout=30_000)
        refusal.locator("button.chip", has_text="more contrast").click()
        expect(page.locator("#timeline li")).to_have_count(2, timeout=30_000)
        expect(page.locator("#chat li.bot").last).to_have_text("Done: more contrast")
        tab.close()


def test_a_file_chosen_while_the_page_is_still_connecting_waits_for_the_session(
    browser: Browser, live: LiveServer, photo: Path
) -> None:
    """The page's first request (the key check) is held back for a second, and the user picks a
    file at once: the upload waits for the session, lands in it, and only one session is made."""
    key = live.key("hasty")
    tab = Tab(browser, live, locale="en-US", viewport=DESKTOP)

    def slow_key_check(route: Route) -> None:
        if route.request.method == "GET":
            tab.page.wait_for_timeout(1000)
        route.continue_()

    tab.page.route("**/v1/sessions", slow_key_check)
    page = tab.open(key)
    page.set_input_files("#file-input", str(photo))
    expect(page.locator("#timeline li")).to_have_count(1, timeout=15_000)
    expect(page.locator("#chat li.user")).to_have_count(1)
    with live.client(key) as client:
        sessions = client.get("/v1/sessions").json()
    assert len(sessions["sessions"]) == 1
    assert len(client_images(live, key, sessions["sessions"][0]["id"])) == 1
    # A key check still held back when the tab closes would fail the next test's first call.
    tab.page.unroute_all(behavior="ignoreErrors")
    tab.close()


def client_images(live: LiveServer, key: str, session_id: str) -> list[Any]:
    with live.client(key) as client:
        images: list[Any] = client.get(f"/v1/sessions/{session_id}").json()["images"]
    return images


def test_a_long_conversation_opens_at_its_end_and_earlier_messages_come_on_request(
    live: LiveServer, browser: Browser
) -> None:
    key = live.key("long-talker")
    with live.client(key) as client:
        session_id = client.post("/v1/sessions", json={"title": "long"}).json()["id"]
    # 230 messages, more than two of the page's pages: written straight to the server's store
    # (a real database), since 115 chat turns would take minutes.
    store = live.app.state.ctx.store
    for n in range(115):
        store.add_message(session_id, "user", f"question {n}")
        store.add_message(session_id, "assistant", f"answer {n}")
    tab = Tab(browser, live, locale="zh-CN", viewport=DESKTOP)
    page = tab.open(key, session_id=session_id)
    bubbles = page.locator("#chat li.user, #chat li.bot")
    expect(bubbles).to_have_count(100)
    expect(bubbles.last).to_have_text("answer 114")
    more = page.get_by_role("button", name="显示更早的消息")
    more.click()
    expect(bubbles).to_have_count(200)
    more.click()
    expect(bubbles).to_have_count(230)
    expect(bubbles.first).to_have_text("question 0")
    expect(more).to_have_count(0)  # nothing older is left
    texts = bubbles.all_text_contents()
    assert texts == [f"{kind} {n}" for n in range(115) for kind in ("question", "answer")]
    assert_accessible(page)
    tab.close()
