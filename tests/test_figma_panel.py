"""The plugin panel (ui.html) in headless Chromium against the running service.

A stand-in page plays Figma's sandbox: it runs the real code.js over a small document of real
images and opens ui.html in a scripts-only sandboxed iframe (origin ``null``, as in Figma). The
panel connects to a live server, uploads the images, follows the job over ``/v1/figma`` and the
results land in copies of the fills, as a designer would see in Figma.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, FrameLocator, Page, expect

from engine import Editor, EditPlan
from engine.plan import Theme
from tests.browser import chromium
from tests.conftest import skimage_photo
from tests.figma_panel_harness import PLUGIN_DIR, image_fill, node, panel_page
from tests.server_harness import LiveServer, png_bytes, server_settings

GIF = (PLUGIN_DIR / "tests" / "fixtures" / "gradient-40x30.gif").read_bytes()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("figma-panel-home")
    with LiveServer(server_settings(home, job_step_delay=0.3)) as server:
        yield server


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return live.key("studio")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 420, "height": 680})
    yield page
    page.close()


def photos(count: int) -> list[bytes]:
    source = skimage_photo("chelsea")
    return [
        png_bytes(source.crop((25 * i, 10 * i, 25 * i + 200, 10 * i + 150)).resize((80, 60)))
        for i in range(count)
    ]


def connect(page: Page, live: LiveServer, key: str) -> FrameLocator:
    ui = page.frame_locator("#plugin-ui")
    ui.locator("#server").fill(live.url)
    ui.locator("#key").fill(key)
    ui.locator("#connect").click()
    expect(ui.locator("#connection-status")).to_have_text("Connected as studio")
    expect(ui.locator("#theme option")).not_to_have_count(0)
    return ui


def stored_image(page: Page, image_hash: str) -> Image.Image:
    data = page.evaluate("hash => standin.image(hash)", image_hash)
    return Image.open(io.BytesIO(base64.b64decode(data)))


def fills(page: Page, node_id: str) -> list[dict[str, Any]]:
    return list(page.evaluate("id => standin.fills(id)", node_id))


def test_panel_restyles_the_selection_and_reports_per_item_errors(
    page: Page, live: LiveServer, key: str
) -> None:
    first, second = photos(2)
    images = {"hash-a": first, "hash-b": second, "hash-gif": GIF}
    selection = [
        node(
            "2:1",
            "Hero",
            type="FRAME",
            fills=[image_fill("hash-a")],
            children=[
                node(
                    "2:2",
                    "Gallery",
                    type="GROUP",
                    children=[
                        node(
                            "2:3",
                            "Photo B",
                            fills=[{"type": "SOLID"}, image_fill("hash-b", scaleMode="FILL")],
                        ),
                        node("2:4", "Photo A again", fills=[image_fill("hash-a", scaleMode="TILE")]),
                        node("2:5", "Animated badge", fills=[image_fill("hash-gif")]),
                    ],
                )
            ],
        )
    ]
    page.set_content(panel_page(images, selection))
    ui = connect(page, live, key)
    expect(ui.locator("#selection-count")).to_have_text("4 image fills selected")
    assert "Retro · 复古" in ui.locator("#theme option").all_inner_texts()

    ui.locator("#theme").select_option("retro")
    ui.locator("#restyle").click()
    expect(ui.locator("#progress-text")).to_have_text(
        "Done: 3 fills restyled, 1 with errors · one undo reverts them", timeout=60_000
    )
    expect(ui.locator("#progress")).to_have_attribute("max", "3")
    assert ui.locator("#progress").evaluate("el => el.value") == 3
    errors = ui.locator("#errors li").all_inner_texts()
    assert len(errors) == 1 and errors[0].startswith("Animated badge: The upload is GIF; the Figma bridge")
    expect(ui.locator("#restyle")).to_be_enabled()
    expect(ui.locator("#cancel")).to_be_disabled()

    # The results are in copies of the paints: framing kept, only the image changed.
    hero, photo_b, again, badge = (
        fills(page, "2:1")[0],
        fills(page, "2:3")[1],
        fills(page, "2:4")[0],
        fills(page, "2:5")[0],
    )
    assert hero["imageHash"].startswith("created-") and again["imageHash"].startswith("created-")
    assert (hero["scaleMode"], again["scaleMode"], photo_b["scaleMode"]) == ("CROP", "TILE", "FILL")
    assert hero["imageTransform"] == [[0.8, 0, 0.1], [0, 0.8, 0.05]]
    assert fills(page, "2:3")[0] == {"type": "SOLID"}
    assert badge["imageHash"] == "hash-gif"

    # The new image is exactly the service's classic retro look of the original.
    plan = EditPlan(instruction="theme:retro", operations=[Theme(name="retro")])
    original = Image.open(io.BytesIO(first)).convert("RGB")
    expected = Editor(engine="classic").edit(image=original, prompt=plan.instruction, plan=plan).image
    assert np.array_equal(
        np.asarray(stored_image(page, hero["imageHash"]).convert("RGB")), np.asarray(expected)
    )

    # One undo step: every fill change of the job lies between two undo commits.
    log = [entry[0] for entry in page.evaluate("standin.log") if entry[0] in ("commitUndo", "setFills")]
    assert log == ["commitUndo", "setFills", "setFills", "setFills", "commitUndo"]


def test_panel_cancel_stops_half_way(page: Page, live: LiveServer, key: str) -> None:
    images = {f"hash-{i}": data for i, data in enumerate(photos(6))}
    selection = [node(f"3:{i}", f"Photo {i}", fills=[image_fill(f"hash-{i}")]) for i in range(6)]
    page.set_content(panel_page(images, selection))
    ui = connect(page, live, key)
    ui.locator("#instruction").fill("make it warmer")
    ui.locator("#restyle").click()
    expect(ui.locator("#progress-text")).to_have_text(re.compile(r"^[1-4] / 6 fills$"), timeout=30_000)
    ui.locator("#cancel").click()
    expect(ui.locator("#progress-text")).to_contain_text("Cancelled:", timeout=30_000)
    text = ui.locator("#progress-text").inner_text()
    applied = int(re.search(r"Cancelled: (\d+) fill", text).group(1))  # type: ignore[union-attr]
    changed = [i for i in range(6) if fills(page, f"3:{i}")[0]["imageHash"].startswith("created-")]
    assert 1 <= applied == len(changed) < 6
    assert ui.locator("#errors li").count() == 0


def test_panel_says_what_is_wrong_with_a_bad_key(page: Page, live: LiveServer) -> None:
    page.set_content(panel_page({}, []))
    ui = page.frame_locator("#plugin-ui")
    ui.locator("#server").fill(live.url)
    ui.locator("#key").fill("ik_000000000000_this-key-does-not-exist")
    ui.locator("#connect").click()
    expect(ui.locator("#connection-status")).to_contain_text("The API key is missing, unknown or revoked.")
    ui.locator("#theme").evaluate("el => { el.innerHTML = '<option value=\"retro\">Retro</option>'; }")
    ui.locator("#restyle").click()
    expect(ui.locator("#errors li")).to_contain_text(["Not connected"])


def test_panel_reconnects_and_resumes_after_the_socket_drops(page: Page, live: LiveServer, key: str) -> None:
    images = {f"hash-{i}": data for i, data in enumerate(photos(5))}
    selection = [node(f"5:{i}", f"Photo {i}", fills=[image_fill(f"hash-{i}")]) for i in range(5)]
    page.set_content(panel_page(images, selection))
    ui = connect(page, live, key)
    ui.locator("#theme").select_option("business")
    ui.locator("#restyle").click()
    expect(ui.locator("#progress-text")).to_have_text(re.compile(r"^[1-3] / 5 fills$"), timeout=30_000)
    panel = next(frame for frame in page.frames if frame.parent_frame is not None)
    panel.evaluate("() => state.ws.close()")  # the network drops mid-job
    expect(ui.locator("#progress-text")).to_have_text(
        "Done: 5 fills restyled · one undo reverts them", timeout=30_000
    )
    expect(ui.locator("#connection-status")).to_have_text("Connected as studio")
    assert all(fills(page, f"5:{i}")[0]["imageHash"].startswith("created-") for i in range(5))
    assert ui.locator("#errors li").count() == 0
