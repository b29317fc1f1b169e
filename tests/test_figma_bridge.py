"""The Figma bridge's service side over a real socket: uvicorn, the classic engine, SQLite.

A real WebSocket client (``websockets``) plays the plugin panel; images go up and come down
over real HTTP, as the plugin sends them. The server slows each job step a little
(IMGEDIT_JOB_STEP_DELAY) so that cancel and reconnect happen while a job is really running.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from engine import Editor, EditPlan
from engine.plan import Theme
from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, Storage, png_bytes

STEP_DELAY = 0.25
PLUGIN_FIXTURES = (
    Path(__file__).resolve().parents[1] / "plugins" / "figma_bridge" / "plugin" / "tests" / "fixtures"
)
FINAL = ("done", "failed", "cancelled")


@pytest.fixture(scope="module")
def live(storage: Storage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, once per storage (embedded, PostgreSQL + S3)."""
    home = tmp_path_factory.mktemp("figma-home")
    with LiveServer(storage.settings(home, job_step_delay=STEP_DELAY)) as server:
        yield server


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return live.key("studio")


def photo_variants(count: int) -> list[bytes]:
    """``count`` different real photographs (crops of skimage's astronaut), 96×72 PNGs."""
    source = skimage_photo("astronaut")
    return [
        png_bytes(source.crop((30 * i, 20 * i, 30 * i + 240, 20 * i + 180)).resize((96, 72)))
        for i in range(count)
    ]


def upload(live: LiveServer, key: str, data: bytes) -> str:
    with live.client(key) as client:
        response = client.post("/v1/figma/uploads", files={"file": ("fill.png", data, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bytes"] == len(data)
    return str(body["upload_id"])


def items_for(upload_ids: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` fills cycling over ``upload_ids``: several fills show the same image."""
    return [
        {
            "item_id": f"1:{n}#0",
            "node_id": f"1:{n}",
            "paint_index": 0,
            "image_hash": f"figma-hash-{n % len(upload_ids)}",
            "upload_id": upload_ids[n % len(upload_ids)],
        }
        for n in range(count)
    ]


class Panel:
    """The plugin panel's side of the socket."""

    def __init__(self, live: LiveServer, query: str = "") -> None:
        self.ws: ClientConnection = connect(f"ws://127.0.0.1:{live.port}/v1/figma{query}", open_timeout=10)

    def send(self, frame: dict[str, Any] | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def recv(self, timeout: float = 30) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def hello(self, key: str) -> dict[str, Any]:
        self.send({"type": "hello", "protocol": 1, "token": key, "client": "pytest"})
        welcome = self.recv()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def until_final(self, job_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Every frame up to and including the job's final status frame."""
        frames = []
        while True:
            frame = self.recv(timeout)
            frames.append(frame)
            if frame["type"] == "job" and frame["job_id"] == job_id and frame["status"] in FINAL:
                return frames

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Panel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def restyle(panel: Panel, items: list[dict[str, Any]], request_id: str, **what: Any) -> dict[str, Any]:
    panel.send({"type": "restyle", "request_id": request_id, "items": items, **(what or {"theme": "retro"})})
    accepted = panel.recv()
    assert accepted["type"] == "accepted", accepted
    return accepted


def check_order(frames: list[dict[str, Any]], total: int) -> None:
    """Progress only rises, and every fill it counts was reported before it."""
    seen_items: set[str] = set()
    last = 0
    for frame in frames:
        if frame["type"] == "item":
            assert frame["item_id"] not in seen_items, "an item is reported twice"
            seen_items.add(frame["item_id"])
        if frame["type"] == "progress":
            assert frame["total"] == total
            assert frame["done"] > last, f"progress went from {last} to {frame['done']}"
            assert frame["done"] <= len(seen_items), "progress counted fills not yet reported"
            last = frame["done"]


def download(live: LiveServer, key: str, url: str) -> bytes:
    with live.client(key) as client:
        response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return response.content


# -- restyling ------------------------------------------------------------------------------------


def test_restyle_ten_fills_edits_each_image_once_with_progress_in_order(live: LiveServer, key: str) -> None:
    photos = photo_variants(4)
    upload_ids = [upload(live, key, data) for data in photos]
    items = items_for(upload_ids, 10)
    with Panel(live) as panel:
        welcome = panel.hello(key)
        assert welcome["tenant"] == "studio" and welcome["max_frame_bytes"] == 64 * 1024
        accepted = restyle(panel, items, "ten-fills")
        assert (accepted["items"], accepted["images"]) == (10, 4)
        frames = panel.until_final(accepted["job_id"])

    check_order(frames, total=10)
    assert frames[-1] == {
        "type": "job",
        "job_id": accepted["job_id"],
        "status": "done",
        "done": 10,
        "total": 10,
    }
    progress = [f["done"] for f in frames if f["type"] == "progress"]
    assert progress[-1] == 10 and len(progress) >= 3, progress
    item_frames = {f["item_id"]: f for f in frames if f["type"] == "item"}
    assert sorted(item_frames) == sorted(i["item_id"] for i in items)
    assert all(f["status"] == "done" for f in item_frames.values())
    # Fills that show the same image share one result: the image was edited once.
    results_by_upload: dict[str, set[str]] = {}
    for frame in item_frames.values():
        results_by_upload.setdefault(frame["upload_id"], set()).add(frame["result_id"])
    assert all(len(ids) == 1 for ids in results_by_upload.values())
    assert len({next(iter(ids)) for ids in results_by_upload.values()}) == 4

    # The result is the classic engine's retro look of that very photo, at the same size.
    first = item_frames["1:0#0"]
    edited = Image.open(io.BytesIO(download(live, key, first["result_url"])))
    original = Image.open(io.BytesIO(photos[0]))
    assert edited.size == original.size == (first["width"], first["height"])
    plan = EditPlan(instruction="theme:retro", operations=[Theme(name="retro")])
    expected = Editor(engine="classic").edit(
        image=original.convert("RGB"), prompt=plan.instruction, plan=plan
    )
    assert np.array_equal(np.asarray(edited.convert("RGB")), np.asarray(expected.image.convert("RGB")))
    assert not np.array_equal(np.asarray(edited.convert("RGB")), np.asarray(original.convert("RGB")))


def test_cancel_half_way_keeps_finished_items_and_stops(live: LiveServer, key: str) -> None:
    upload_ids = [upload(live, key, data) for data in photo_variants(10)]
    with Panel(live) as panel:
        panel.hello(key)
        accepted = restyle(panel, items_for(upload_ids, 10), "cancel-me", instruction="make it warmer")
        job_id = accepted["job_id"]
        frames = []
        while True:
            frame = panel.recv()
            frames.append(frame)
            if frame["type"] == "progress" and frame["done"] >= 3:
                break
        panel.send({"type": "cancel", "job_id": job_id})
        frames += panel.until_final(job_id)
        final = frames[-1]
        assert final["status"] == "cancelled"
        assert 3 <= final["done"] < 10
        check_order(frames, total=10)
        reported = [f for f in frames if f["type"] == "item"]
        assert len(reported) == final["done"]

        # Cancelling again answers with the final state; nothing more comes for the job.
        panel.send({"type": "cancel", "job_id": job_id})
        again = panel.recv()
        assert (again["type"], again["status"]) == ("job", "cancelled")
        panel.send({"type": "ping"})
        assert panel.recv() == {"type": "pong"}
    with live.client(key) as client:
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_reconnect_and_resume_sends_only_what_is_missing(live: LiveServer, key: str) -> None:
    upload_ids = [upload(live, key, data) for data in photo_variants(6)]
    items = items_for(upload_ids, 6)
    panel = Panel(live)
    panel.hello(key)
    accepted = restyle(panel, items, "resume-me")
    job_id = accepted["job_id"]
    have: list[str] = []
    while len(have) < 2:
        frame = panel.recv()
        if frame["type"] == "item":
            have.append(frame["item_id"])
    panel.close()  # the network drops; the job goes on

    with Panel(live) as panel:
        panel.hello(key)
        panel.send({"type": "resume", "job_id": job_id, "have": have})
        resumed = panel.recv()
        assert resumed["type"] == "resumed" and resumed["job_id"] == job_id
        assert resumed["total"] == 6 and resumed["done"] >= 2
        frames = panel.until_final(job_id)
    again = [f["item_id"] for f in frames if f["type"] == "item"]
    assert not set(again) & set(have), "items the panel already had were sent again"
    assert sorted(again + have) == sorted(i["item_id"] for i in items)
    assert frames[-1]["status"] == "done" and frames[-1]["done"] == 6

    # Resending the same restyle (same request_id) answers with the same job, not a new one;
    # a job that finished meanwhile is replayed in full.
    with Panel(live) as panel:
        panel.hello(key)
        repeat = restyle(panel, items, "resume-me")
        assert repeat["job_id"] == job_id
        replay = panel.until_final(job_id)
    assert sorted(f["item_id"] for f in replay if f["type"] == "item") == sorted(i["item_id"] for i in items)


def test_an_image_that_cannot_be_edited_is_a_per_item_error(live: LiveServer, key: str) -> None:
    good, lost = (upload(live, key, data) for data in photo_variants(2))
    live.app.state.ctx.store.blobs.delete(lost)  # its bytes vanished from storage
    items = items_for([good, lost], 4)
    with Panel(live) as panel:
        panel.hello(key)
        accepted = restyle(panel, items, "partial")
        frames = panel.until_final(accepted["job_id"])
    assert frames[-1]["status"] == "done" and frames[-1]["done"] == 4
    by_status: dict[str, list[dict[str, Any]]] = {}
    for frame in (f for f in frames if f["type"] == "item"):
        by_status.setdefault(frame["status"], []).append(frame)
    assert [f["upload_id"] for f in by_status["done"]] == [good, good]
    assert [f["upload_id"] for f in by_status["failed"]] == [lost, lost]
    assert by_status["failed"][0]["error"]["code"] == "not_found"
    assert "result_url" not in by_status["failed"][0]


def test_results_never_exceed_figmas_4096_px_limit(live: LiveServer, key: str) -> None:
    strip = skimage_photo("coffee").resize((4200, 30))
    upload_id = upload(live, key, png_bytes(strip))
    with Panel(live) as panel:
        panel.hello(key)
        accepted = restyle(panel, items_for([upload_id], 1), "wide-strip", theme="monochrome")
        frames = panel.until_final(accepted["job_id"])
    item = next(f for f in frames if f["type"] == "item")
    assert (item["width"], item["height"]) == (4096, 29)
    assert Image.open(io.BytesIO(download(live, key, item["result_url"]))).size == (4096, 29)


# -- bad input ------------------------------------------------------------------------------------


def test_bad_json_and_unknown_types_get_error_frames_and_the_socket_stays_open(
    live: LiveServer, key: str
) -> None:
    with Panel(live) as panel:
        panel.hello(key)
        panel.send("{not json")
        assert panel.recv()["code"] == "bad_json"
        panel.send("[1, 2, 3]")
        assert panel.recv()["code"] == "bad_json"
        panel.ws.send(b"\x89PNG binary")
        assert panel.recv()["code"] == "bad_json"
        panel.send({"type": "teleport", "request_id": "x1"})
        unknown = panel.recv()
        assert (unknown["code"], unknown["request_id"]) == ("unknown_type", "x1")
        assert "restyle" in unknown["hint"]
        panel.send(
            {"type": "restyle", "request_id": "x2", "theme": "retro", "instruction": "warmer", "items": []}
        )
        invalid = panel.recv()
        assert invalid["code"] == "invalid_message" and "items" in invalid["message"]
        items = items_for(["0" * 64], 1)
        panel.send(
            {"type": "restyle", "request_id": "x3", "theme": "retro", "instruction": "warmer", "items": items}
        )
        assert "exactly one of 'theme' or 'instruction'" in panel.recv()["message"]
        panel.send({"type": "resume"})
        assert "job_id" in panel.recv()["message"]
        panel.send({"type": "ping"})
        assert panel.recv() == {"type": "pong"}


def test_an_oversized_frame_is_answered_with_an_error_frame_not_a_dropped_connection(
    live: LiveServer, key: str
) -> None:
    with Panel(live) as panel:
        panel.hello(key)
        huge = {
            "type": "restyle",
            "request_id": "big",
            "theme": "retro",
            "items": [],
            "padding": "x" * 100_000,
        }
        panel.send(huge)
        error = panel.recv()
        assert error["type"] == "error" and error["code"] == "frame_too_large"
        assert "65,536" in error["message"] and "/v1/figma/uploads" in error["hint"]
        panel.send({"type": "ping"})
        assert panel.recv() == {"type": "pong"}


def test_requests_the_service_cannot_honour_name_the_problem(live: LiveServer, key: str) -> None:
    upload_id = upload(live, key, photo_variants(1)[0])
    with Panel(live) as panel:
        panel.hello(key)
        items = items_for([upload_id], 1)
        panel.send({"type": "restyle", "request_id": "t1", "theme": "no-such-theme", "items": items})
        error = panel.recv()
        assert (error["code"], error["request_id"]) == ("not_found", "t1")
        assert "retro" in error["hint"]
        panel.send(
            {"type": "restyle", "request_id": "t2", "instruction": "rotate 90 degrees", "items": items}
        )
        assert "framing" in panel.recv()["message"]
        unknown_upload = items_for(["0" * 64], 1)
        panel.send({"type": "restyle", "request_id": "t3", "theme": "retro", "items": unknown_upload})
        error = panel.recv()
        assert error["code"] == "not_found" and "POST /v1/figma/uploads" in error["hint"]
        panel.send({"type": "resume", "job_id": "job_does_not_exist"})
        assert panel.recv()["code"] == "not_found"


def test_uploads_that_are_not_png_or_jpeg_are_refused(live: LiveServer, key: str) -> None:
    with live.client(key) as client:
        response = client.post("/v1/figma/uploads", files={"file": ("a.txt", b"hello there", "text/plain")})
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "The upload is not an image; the Figma bridge restyles PNG and JPEG fills."
    )
    gif = (PLUGIN_FIXTURES / "gradient-40x30.gif").read_bytes()
    with live.client(key) as client:
        response = client.post("/v1/figma/uploads", files={"file": ("a.gif", gif, "image/gif")})
    assert response.status_code == 400
    assert "GIF" in response.json()["message"] and "animation" in response.json()["hint"]


# -- auth and tenants -----------------------------------------------------------------------------


def test_a_wrong_key_gets_an_error_frame_and_the_socket_is_closed(live: LiveServer) -> None:
    with Panel(live) as panel:
        panel.send({"type": "hello", "protocol": 1, "token": "ik_000000000000_not-a-real-key-at-all"})
        error = panel.recv()
        assert error["code"] == "unauthorized" and "imgedit keys create" in error["hint"]
        with pytest.raises(ConnectionClosed) as closed:
            panel.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    with Panel(live, "?token=ik_000000000000_wrong-key-in-the-url-here") as panel:
        assert panel.recv()["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed):
            panel.recv()
    with Panel(live) as panel:
        panel.send({"type": "restyle", "request_id": "sneaky", "items": []})  # no hello first
        assert panel.recv()["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed):
            panel.recv()


def test_a_key_in_the_url_and_the_auth_frame_both_work(live: LiveServer, key: str) -> None:
    with Panel(live, f"?token={key}") as panel:
        assert panel.recv()["type"] == "welcome"
    with Panel(live) as panel:
        panel.send({"type": "auth", "token": key})
        assert panel.recv()["tenant"] == "studio"
    with Panel(live) as panel:
        panel.send({"type": "hello", "protocol": 2, "token": key})
        assert panel.recv()["code"] == "unsupported_protocol"
        with pytest.raises(ConnectionClosed) as closed:
            panel.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


def test_another_tenants_uploads_jobs_and_results_are_not_found(live: LiveServer, key: str) -> None:
    upload_id = upload(live, key, photo_variants(1)[0])
    with Panel(live) as panel:
        panel.hello(key)
        accepted = restyle(panel, items_for([upload_id], 1), "mine")
        frames = panel.until_final(accepted["job_id"])
    result_url = next(f["result_url"] for f in frames if f["type"] == "item")
    other = live.key("rival")
    with live.client(other) as client:
        assert client.get(result_url).status_code == 404
    with Panel(live) as panel:
        panel.hello(other)
        panel.send({"type": "resume", "job_id": accepted["job_id"]})
        assert panel.recv()["code"] == "not_found"
        panel.send({"type": "cancel", "job_id": accepted["job_id"]})
        assert panel.recv()["code"] == "not_found"
        panel.send(
            {"type": "restyle", "request_id": "steal", "theme": "retro", "items": items_for([upload_id], 1)}
        )
        assert panel.recv()["code"] == "not_found"
    with live.client() as client:
        assert (
            client.post("/v1/figma/uploads", files={"file": ("a.png", b"x", "image/png")}).status_code == 401
        )
