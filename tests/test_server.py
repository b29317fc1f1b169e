"""The service over real HTTP and WebSockets: uvicorn on a free port, the classic engine, SQLite."""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from PIL import Image

from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, Storage, png_bytes, server_settings, wait_for_job


@pytest.fixture(scope="module")
def live(storage: Storage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server the tests of this module share, once per storage (embedded, PostgreSQL + S3)."""
    home = tmp_path_factory.mktemp("server-home")
    with LiveServer(storage.settings(home, max_upload_bytes=3_000_000, max_image_pixels=4_000_000)) as server:
        yield server


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return live.key("acme")


@pytest.fixture(scope="module")
def photo() -> bytes:
    return png_bytes(skimage_photo("astronaut"))


def post_edit(client: httpx.Client, data: bytes, instruction: str, **fields: Any) -> httpx.Response:
    form = {"instruction": instruction, **{k: str(v) for k, v in fields.items()}}
    return client.post("/v1/edits", files={"file": ("photo.png", data, "image/png")}, data=form)


def mean_brightness(data: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(data)).convert("L")).mean())


def new_session_with_image(client: httpx.Client, data: bytes) -> tuple[str, str, str]:
    session_id = client.post("/v1/sessions", json={"title": "test"}).json()["id"]
    added = client.post(f"/v1/sessions/{session_id}/images", files={"file": ("photo.png", data, "image/png")})
    assert added.status_code == 201, added.text
    return session_id, added.json()["image_id"], added.json()["version_id"]


# -- one-shot edits and jobs ------------------------------------------------------------------


def test_edit_job_runs_and_returns_the_edited_image(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        created = post_edit(client, photo, "make it brighter")
        assert created.status_code == 202, created.text
        job = wait_for_job(client, created.json()["job_id"])
        assert job["status"] == "done", job
        assert job["progress"]["done"] == job["progress"]["total"] >= 1
        timings = job["result"]["timings"]  # what bench/server_load.py reads: engine vs the rest
        assert timings["engine_seconds"] > 0 and timings["encode"] > 0
        steps = {name: value for name, value in timings.items() if not name.endswith("_seconds")}
        assert {"claim", "decode", "progress", "encode", "store"} <= set(steps)
        assert abs(timings["server_seconds"] - sum(steps.values())) < 1e-3
        # With more than one core the edit ran in a worker process, not in the server's interpreter.
        assert "dispatch" in steps
        workers = live.app.state.edit_workers.pids()
        assert workers and os.getpid() not in workers
        result = client.get(job["result_url"])
        assert result.headers["content-type"] == "image/png"
        edited = Image.open(io.BytesIO(result.content))
        assert edited.size == (512, 512)
        assert mean_brightness(result.content) > mean_brightness(photo) + 5


def test_uploads_stored_in_a_thread_give_the_same_edit(
    live: LiveServer, key: str, photo: bytes, tmp_path: Path
) -> None:
    """IMGEDIT_INLINE_UPLOAD_BYTES=0 (for disks whose sync is slow) stores every upload from a
    worker thread instead of the event loop; the edit is the same, byte for byte."""

    def edited(server: LiveServer, api_key: str) -> bytes:
        with server.client(api_key) as client:
            created = post_edit(client, photo, "make it warmer", seed="7")
            assert created.status_code == 202, created.text
            job = wait_for_job(client, created.json()["job_id"])
            assert job["status"] == "done", job
            return client.get(job["result_url"]).content

    with LiveServer(server_settings(tmp_path / "home", inline_upload_bytes=0)) as threaded:
        assert edited(threaded, threaded.key()) == edited(live, key)


def test_repeated_edit_is_answered_from_the_cache(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        first = wait_for_job(client, post_edit(client, photo, "increase contrast").json()["job_id"])
        again = post_edit(client, photo, "  increase   contrast ")  # same after normalisation
        assert again.json()["status"] == "done" and again.json()["cached"] is True
        cached = client.get(f"/v1/jobs/{again.json()['job_id']}").json()
        assert client.get(cached["result_url"]).content == client.get(first["result_url"]).content


def test_idempotency_key_returns_the_same_job(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        headers = {"Idempotency-Key": "order-42"}
        form = {"instruction": "make it darker"}
        files = {"file": ("photo.png", photo, "image/png")}
        one = client.post("/v1/edits", files=files, data=form, headers=headers).json()["job_id"]
        two = client.post("/v1/edits", files=files, data=form, headers=headers).json()["job_id"]
        assert one == two


def test_bad_instructions_are_4xx_json_not_500(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        generative = post_edit(client, photo, "add a cat on the sofa")
        assert generative.status_code == 422
        assert generative.json()["code"] == "unsupported_operation" and generative.json()["hint"]
        empty = post_edit(client, photo, "   ")
        assert empty.status_code == 400 and empty.json()["code"] == "bad_input"
        blank = post_edit(client, photo, "")  # a form field sent empty arrives as missing
        assert blank.status_code == 422 and blank.json()["message"].endswith("instruction: missing or empty.")
        missing = client.get("/v1/jobs/job_doesnotexist")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


# -- sessions, versions, the agent ----------------------------------------------------------------


def test_chat_message_edits_and_undo_redo_revert_move_the_head(
    live: LiveServer, key: str, photo: bytes
) -> None:
    with live.client(key) as client:
        session_id, image_id, original_id = new_session_with_image(client, photo)
        turn = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "make it brighter"})
        assert turn.status_code == 200, turn.text
        reply = turn.json()
        assert reply["reply"] and reply["version_id"] and reply["image_id"] == image_id
        assert [c["name"] for c in reply["tool_calls"]]
        edited = client.get(f"/v1/versions/{reply['version_id']}/image")
        assert mean_brightness(edited.content) > mean_brightness(photo) + 5

        session = client.get(f"/v1/sessions/{session_id}").json()
        assert [v["number"] for v in session["images"][0]["versions"]] == [0, 1]
        assert [m["role"] for m in session["messages"]][-2:] == ["user", "assistant"]

        undone = client.post(f"/v1/sessions/{session_id}/undo").json()
        assert undone["version_id"] == original_id
        redone = client.post(f"/v1/sessions/{session_id}/redo", json={"image_id": image_id}).json()
        assert redone["version_id"] == reply["version_id"]
        reverted = client.post(f"/v1/sessions/{session_id}/revert", json={"version_id": original_id}).json()
        assert reverted["version_id"] == original_id
        nothing = client.post(f"/v1/sessions/{session_id}/undo")
        assert nothing.status_code == 400 and "original" in nothing.json()["message"]

        audit = client.get(f"/v1/versions/{reply['version_id']}").json()
        assert audit["parent_id"] == original_id and audit["instruction"]
        thumb = client.get(f"/v1/versions/{original_id}/image", params={"max_side": 64})
        assert max(Image.open(io.BytesIO(thumb.content)).size) == 64


def test_a_long_conversation_comes_a_page_at_a_time_newest_first(
    live: LiveServer, key: str, photo: bytes
) -> None:
    with live.client(key) as client:
        session_id, _, _ = new_session_with_image(client, photo)
        for text in ("make it brighter", "undo", "redo", "show the history"):
            assert client.post(f"/v1/sessions/{session_id}/messages", json={"text": text}).status_code == 200
        everything = client.get(f"/v1/sessions/{session_id}", params={"messages": 500}).json()
        assert len(everything["messages"]) == 8 and everything["messages_before"] is None

        # The session shows its last messages and where the older ones are ...
        recent = client.get(f"/v1/sessions/{session_id}", params={"messages": 3}).json()
        assert recent["messages"] == everything["messages"][-3:]
        assert recent["images"] == everything["images"]
        # ... and the older ones come page by page, going back, until the first.
        pages = [recent["messages"]]
        before = recent["messages_before"]
        while before is not None:
            page = client.get(f"/v1/sessions/{session_id}/messages", params={"before": before, "limit": 2})
            assert page.status_code == 200, page.text
            assert len(page.json()["messages"]) <= 2
            pages.insert(0, page.json()["messages"])
            before = page.json()["messages_before"]
        assert [m for page in pages for m in page] == everything["messages"]
        assert everything["messages"][0]["text"] == "make it brighter"

        bad = client.get(f"/v1/sessions/{session_id}/messages", params={"limit": 0})
        assert bad.status_code == 422 and "limit" in bad.json()["message"]
    with live.client(live.key("pager-other")) as theirs:
        assert theirs.get(f"/v1/sessions/{session_id}/messages").status_code == 404


def test_session_edit_job_records_one_version(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        session_id, _image_id, original_id = new_session_with_image(client, photo)
        job = client.post(f"/v1/sessions/{session_id}/edits", json={"instruction": "降低饱和度"}).json()
        done = wait_for_job(client, job["job_id"])
        assert done["status"] == "done" and done["result"]["number"] == 1
        versions = client.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"]
        assert [(v["number"], v["parent_id"]) for v in versions] == [(0, None), (1, original_id)]


# -- security ------------------------------------------------------------------------------------


def test_requests_without_a_valid_key_are_401(live: LiveServer, key: str) -> None:
    with live.client() as anonymous:
        assert anonymous.post("/v1/sessions").status_code == 401
        assert anonymous.get("/v1/jobs").json()["code"] == "unauthorized"
    with live.client("ik_000000000000_not-a-real-key-at-all-xxxxxx") as wrong:
        assert wrong.get("/v1/sessions").status_code == 401
    with live.client() as anonymous:
        assert anonymous.get("/healthz").json()["status"] == "ok"
        assert "imgedit_http_requests_total" in anonymous.get("/metrics").text


def test_revoked_key_is_refused(live: LiveServer) -> None:
    new = live.app.state.ctx.keys.create("revokee")
    with live.client(new.key) as client:
        assert client.get("/v1/sessions").status_code == 200
        live.app.state.ctx.keys.revoke(new.id)
        assert client.get("/v1/sessions").status_code == 401


def test_another_tenants_objects_are_404(live: LiveServer, key: str, photo: bytes) -> None:
    other = live.key("globex")
    with live.client(key) as mine, live.client(other) as theirs:
        session_id, _image_id, version_id = new_session_with_image(mine, photo)
        job_id = post_edit(mine, photo, "make it warmer").json()["job_id"]
        for path in (
            f"/v1/sessions/{session_id}",
            f"/v1/versions/{version_id}",
            f"/v1/versions/{version_id}/image",
            f"/v1/jobs/{job_id}",
            f"/v1/jobs/{job_id}/result",
        ):
            answer = theirs.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["code"] == "not_found"
        assert theirs.delete(f"/v1/jobs/{job_id}").status_code == 404
        assert theirs.post(f"/v1/sessions/{session_id}/undo").status_code == 404
        assert theirs.post(f"/v1/sessions/{session_id}/messages", json={"text": "undo"}).status_code == 404
        assert session_id not in json.dumps(theirs.get("/v1/sessions").json())


def _png_with_header_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims ``width`` x ``height`` (a decompression bomb's header)."""
    data = bytearray(png_bytes(Image.new("RGB", (1, 1))))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_upload_limits(live: LiveServer, key: str) -> None:
    with live.client(key) as client:
        session_id = client.post("/v1/sessions").json()["id"]
        url = f"/v1/sessions/{session_id}/images"
        big = client.post(url, files={"file": ("big.png", b"\x89PNG" + b"\0" * 3_200_000, "image/png")})
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
        bomb = client.post(
            url, files={"file": ("bomb.png", _png_with_header_size(30_000, 30_000), "image/png")}
        )
        assert bomb.status_code == 413 and bomb.json()["code"] == "image_too_large"
        fake = client.post(url, files={"file": ("notes.png", b"just some text, not a picture", "image/png")})
        assert fake.status_code == 400 and "PNG, JPEG" in fake.json()["message"]
        gif = io.BytesIO()
        Image.new("RGB", (8, 8)).save(gif, "GIF")
        assert client.post(url, files={"file": ("a.gif", gif.getvalue(), "image/gif")}).status_code == 400
        assert client.get(f"/v1/sessions/{session_id}").json()["images"] == []


def test_one_shot_edit_uploads_are_refused_from_their_header(live: LiveServer) -> None:
    """``POST /v1/edits`` checks format and size from the header only (the job decodes later):
    the refusals read as the full decode's do and name the user's file, nothing internal."""
    with live.client(live.key("uploader")) as client:
        for name, data, status, message in [
            ("wide.png", _png_with_header_size(50_000, 10), 413, "wide.png is 50000x10 pixels; the limit is"),
            (
                "notes.png",
                b"just some text, not a picture",
                400,
                "notes.png is not a readable PNG, JPEG or WebP image.",
            ),
        ]:
            refused = client.post(
                "/v1/edits", files={"file": (name, data)}, data={"instruction": "make it brighter"}
            )
            assert refused.status_code == status and refused.json()["message"].startswith(message)
            assert "BytesIO" not in refused.text
        assert client.get("/v1/jobs").json()["jobs"] == []  # nothing was queued


def test_cors_allows_plugin_origins(live: LiveServer) -> None:
    with live.client() as client:
        preflight = client.options(
            "/v1/edits",
            headers={
                "Origin": "null",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] in ("*", "null")


def test_rate_limit_per_key(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home", rate_limit_per_minute=5)) as server:
        limited, other = server.key("acme"), server.key("acme")
        with server.client(limited) as client:
            codes = [client.get("/v1/jobs").status_code for _ in range(7)]
            assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
            assert int(client.get("/v1/jobs").headers["Retry-After"]) >= 1
        with server.client(other) as client:
            assert client.get("/v1/jobs").status_code == 200


# -- WebSockets ----------------------------------------------------------------------------------


async def _frames_until(ws: Any, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            frames.append(frame)
            if predicate(frame):
                return frames


def test_websocket_streams_job_events_and_answers_status(live: LiveServer, key: str, photo: bytes) -> None:
    async def scenario() -> None:
        async with websockets.connect(f"{live.ws_url}?token={key}") as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
            async with httpx.AsyncClient(
                base_url=live.url, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                created = await client.post(
                    "/v1/edits",
                    files={"file": ("p.png", photo, "image/png")},
                    data={"instruction": "sharpen it"},
                )
            job_id = created.json()["job_id"]
            # Events go only to sockets that follow the job; subscribing answers its state at once.
            await ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
            frames = await _frames_until(
                ws, lambda f: f.get("job_id") == job_id and f.get("status") == "done"
            )
            mine = [f for f in frames if f.get("job_id") == job_id]
            statuses = [f["status"] for f in mine if f["type"] == "job"]
            assert statuses[-1] == "done" and set(statuses) <= {"queued", "running", "done"}
            assert mine[-1]["done"] == mine[-1]["total"] > 0
            assert mine[-1]["result_url"] == f"/v1/jobs/{job_id}/result"
            # A client that reconnects asks for the state of its jobs.
            await ws.send(json.dumps({"type": "job_status", "job_id": job_id}))
            status = (await _frames_until(ws, lambda f: f.get("job_id") == job_id))[-1]
            assert status["status"] == "done"
            await ws.send(json.dumps({"type": "jobs"}))
            listing = (await _frames_until(ws, lambda f: f["type"] == "jobs"))[-1]
            assert job_id in [j["job_id"] for j in listing["jobs"]]
            await ws.send("not json")
            assert (await _frames_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "bad_frame"

    asyncio.run(scenario())


def test_websocket_chat_with_first_frame_auth(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        session_id, _image_id, _ = new_session_with_image(client, photo)

    async def scenario() -> None:
        async with websockets.connect(live.ws_url) as ws, websockets.connect(live.ws_url) as watcher:
            for socket in (ws, watcher):
                await socket.send(json.dumps({"type": "auth", "token": key}))
                assert json.loads(await socket.recv())["type"] == "ready"
            await watcher.send(json.dumps({"type": "join", "session_id": session_id}))
            joined = (await _frames_until(watcher, lambda f: f["type"] == "joined"))[-1]
            assert joined == {"type": "joined", "session_id": session_id, "jobs": []}
            await ws.send(
                json.dumps({"type": "message", "session_id": session_id, "text": "make it brighter"})
            )
            frames = await _frames_until(ws, lambda f: f["type"] == "reply")
            reply = frames[-1]
            assert reply["session_id"] == session_id and reply["version_id"] and reply["reply"]
            assert {"queued", "done"} <= {f.get("status") for f in frames if f["type"] == "job"}
            # Many clients per session: the connection that joined it sees the reply too.
            seen = await _frames_until(watcher, lambda f: f["type"] == "reply")
            assert seen[-1]["version_id"] == reply["version_id"]

    asyncio.run(scenario())


def test_websocket_refuses_bad_tokens(live: LiveServer, key: str) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"{live.ws_url}?token=ik_bad"):
                pass
        async with websockets.connect(live.ws_url) as ws:
            await ws.send(json.dumps({"type": "jobs"}))  # anything but auth first is refused
            assert json.loads(await ws.recv())["code"] == "unauthorized"
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4401

    asyncio.run(scenario())
