"""Limits a hostile or careless client meets on a live server: fairness between tenants, bounded
memory for decode bombs and sockets that never read, clear answers to malformed input.

Real uvicorn servers (tests/server_harness.py), or an ``imgedit serve`` subprocess where the
server's own memory is what is measured, with real HTTP and WebSocket clients.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image
from websockets.sync.client import connect

from tests.conftest import skimage_photo
from tests.server_harness import (
    LiveServer,
    RawWebSocket,
    ServedProcess,
    new_key,
    png_bytes,
    removed_soon,
    served_env,
    server_settings,
    wait_for_job,
)


def post_edit(client: httpx.Client, data: bytes, **form: str) -> str:
    answer = client.post("/v1/edits", files={"file": ("p.png", data, "image/png")}, data=form)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


# -- defect 8: priority never beats fairness between tenants ---------------------------------------


def test_a_tenants_high_priority_backlog_does_not_hold_up_another_tenant(tmp_path: Path) -> None:
    photo = png_bytes(skimage_photo("astronaut").resize((48, 48)))
    settings = server_settings(
        tmp_path / "home", classic_workers=1, classic_processes=False, job_step_delay=0.05
    )
    with (
        LiveServer(settings) as live,
        live.client(live.key("busy")) as busy,
        live.client(live.key("calm")) as calm,
    ):
        backlog = [
            post_edit(busy, photo, instruction="make it brighter", seed=str(n), priority="10")
            for n in range(12)
        ]
        single = post_edit(calm, photo, instruction="make it brighter", priority="0")
        mine = wait_for_job(calm, single)
        jobs = [busy.get(f"/v1/jobs/{job_id}").json() for job_id in backlog]
        ahead = [
            j for j in jobs if j["started_at"] and mine["created_at"] < j["started_at"] < mine["started_at"]
        ]
        for job_id in backlog:
            busy.delete(f"/v1/jobs/{job_id}")
    # Once "calm" asked, at most the one job "busy" was owed in the round robin went first.
    assert len(ahead) <= 1, f"{len(ahead)} of the busy tenant's jobs ran before the calm tenant's one"


# -- defect 7: a Figma client that never reads holds a bounded amount of server memory -------------


def finished_figma_job(live: LiveServer, key: str, items: int) -> str:
    """A done Figma job of ``items`` fills over two real photos."""
    photos = [png_bytes(skimage_photo(name).resize((32, 24))) for name in ("astronaut", "coffee")]
    with live.client(key) as client:
        ids = [
            client.post("/v1/figma/uploads", files={"file": ("f.png", data, "image/png")}).json()["upload_id"]
            for data in photos
        ]
    fills = [
        {
            "item_id": f"1:{n}#0",
            "node_id": f"1:{n}",
            "paint_index": 0,
            "image_hash": f"h{n}",
            "upload_id": ids[n % 2],
        }
        for n in range(items)
    ]
    with connect(f"ws://127.0.0.1:{live.port}/v1/figma?token={key}") as panel:
        assert json.loads(panel.recv(timeout=10))["type"] == "welcome"
        panel.send(json.dumps({"type": "restyle", "request_id": "big", "items": fills, "theme": "retro"}))
        while True:
            frame = json.loads(panel.recv(timeout=30))
            if frame["type"] == "job" and frame["status"] in ("done", "failed"):
                return str(frame["job_id"])


def test_a_figma_client_that_never_reads_is_closed_and_costs_bounded_memory(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home")) as live:
        key = live.key("panel")
        job_id = finished_figma_job(live, key, items=300)
        me = psutil.Process()
        before = peak = me.memory_info().rss
        panel = RawWebSocket(live.port, f"/v1/figma?token={key}", timeout=1)
        resume = json.dumps({"type": "resume", "job_id": job_id, "have": []})  # all 300 items again
        deadline = time.monotonic() + 3
        with contextlib.suppress(TimeoutError, OSError):  # the server stopped reading: good
            while time.monotonic() < deadline:
                panel.send(resume)
                peak = max(peak, me.memory_info().rss)
        while time.monotonic() < deadline:
            peak = max(peak, me.memory_info().rss)
            time.sleep(0.05)
        grown = (peak - before) / 1e6
        # Reading now, the client finds what was sent before the server gave up on it, then 1013.
        panel.sock.settimeout(15)
        code = panel.close_code()
        panel.close()
    assert grown < 25, f"the server grew by {grown:.0f} MB for one client that never reads"
    assert code == 1013


# -- defect 9: malformed frames get an answer, never a dropped socket or a failed job --------------


def test_binary_deeply_nested_and_lone_surrogate_frames_get_clear_errors(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home")) as live:
        key = live.key("sloppy")
        with live.client(key) as client:
            session_id = client.post("/v1/sessions", json={}).json()["id"]
        for path, ready in (("/v1/ws", "ready"), ("/v1/figma", "welcome")):
            with connect(f"ws://127.0.0.1:{live.port}{path}?token={key}") as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == ready
                ws.send(b"\x00\x01 not text")
                ws.send("[" * 30_000 + "]" * 30_000)
                # json.dumps escapes the lone surrogate as \ud800, which decodes to unusable text.
                ws.send(json.dumps({"type": "message", "session_id": session_id, "text": "bright\ud800er"}))
                errors = [json.loads(ws.recv(timeout=10)) for _ in range(3)]
                assert [e["type"] for e in errors] == ["error"] * 3, errors
                assert "binary" in errors[0]["message"]
                assert "nests deeper" in errors[1]["message"]
                assert "surrogate" in errors[2]["message"]
                ws.send(json.dumps({"type": "ping"}))
                assert json.loads(ws.recv(timeout=10))["type"] == "pong"  # still open
        with live.client(key) as client:
            assert client.get("/v1/jobs").json()["jobs"] == []  # no job came of the bad text


# -- defect 6 and 9: images that decode into huge ones ----------------------------------------------


def png_claiming(width: int, height: int, rows: int | None = None) -> bytes:
    """A real PNG of ``width`` x ``height`` black RGB pixels, compressed row by row: a few hundred
    KB that decode into ``width * height * 3`` bytes. ``rows`` stops the pixel data early (a
    truncated file: its header still promises every row)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 3)
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    data += compressor.flush() if rows is None else b""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack("!I", len(body)) + kind + body + struct.pack("!I", zlib.crc32(kind + body))

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_figma_upload_of_a_decompression_bomb_is_413_with_a_clear_message(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home")) as live, live.client(live.key("bomb")) as client:
        answer = client.post(
            "/v1/figma/uploads", files={"file": ("f.png", png_claiming(20_000, 20_000, rows=1))}
        )
        assert answer.status_code == 413, answer.text
        body = answer.json()
        assert body["code"] == "image_too_large" and "too large" in body["message"]
        junk = client.post("/v1/figma/uploads", files={"file": ("f.png", b"\x89PNG\r\n\x1a\n broken")})
        assert junk.status_code == 400 and "THE UPLOAD" not in junk.json()["message"], junk.text


def test_concurrent_uploads_that_decode_into_huge_images_stay_within_a_memory_bound(tmp_path: Path) -> None:
    bomb = png_claiming(7000, 7000)  # ~150 KB that decode into 147 MB
    env = served_env(tmp_path / "home", IMGEDIT_CLASSIC_WORKERS="1")
    key = new_key(env, "uploader")
    server = ServedProcess(env, "--log-level", "warning")
    try:
        headers = {"Authorization": f"Bearer {key}"}
        session_id = httpx.post(f"{server.url}/v1/sessions", json={}, headers=headers).json()["id"]
        process = psutil.Process(server.proc.pid)
        before = peak = process.memory_info().rss
        statuses: list[int] = []

        def upload() -> None:
            answer = httpx.post(
                f"{server.url}/v1/sessions/{session_id}/images",
                files={"file": ("big.png", bomb, "image/png")},
                headers=headers,
                timeout=60,
            )
            statuses.append(answer.status_code)

        uploads = [threading.Thread(target=upload) for _ in range(4)]
        for thread in uploads:
            thread.start()
        while any(thread.is_alive() for thread in uploads):
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)
    finally:
        server.stop()
    grown = (peak - before) / 1e6
    assert statuses == [201] * 4
    # One such image decoded at a time (196 MB of pixels), not four side by side (~1 GB).
    assert grown < 450, f"four uploads took the server from {before / 1e6:.0f} MB up by {grown:.0f} MB"


def test_a_chunked_body_over_the_upload_limit_is_413(tmp_path: Path) -> None:
    settings = server_settings(tmp_path / "home", max_upload_bytes=200_000)
    with LiveServer(settings) as live, live.client(live.key("chunky")) as client:
        boundary = "imgedit-test-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()

        def body() -> Iterator[bytes]:  # no Content-Length: the size is only known as it streams
            yield head
            for _ in range(40):
                yield b"\0" * 16_384
            field = 'Content-Disposition: form-data; name="instruction"'
            yield f"\r\n--{boundary}\r\n{field}\r\n\r\nbrighter\r\n".encode()
            yield f"--{boundary}--\r\n".encode()

        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        answer = client.post("/v1/edits", content=body(), headers=headers)
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "payload_too_large" and "0.2 MB" in answer.json()["message"]


def test_sessions_are_listed_a_page_at_a_time_and_capped_per_tenant(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home", max_sessions_per_tenant=7)) as live:
        with live.client(live.key("pager")) as client:
            made = [client.post("/v1/sessions", json={"title": f"s{n}"}).json()["id"] for n in range(7)]
            over = client.post("/v1/sessions", json={"title": "one too many"})
            assert over.status_code == 429 and over.json()["code"] == "quota_exceeded", over.text
            seen: list[str] = []
            cursor = None
            while True:
                params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
                page = client.get("/v1/sessions", params=params).json()
                assert len(page["sessions"]) <= 3
                seen += [s["id"] for s in page["sessions"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == made  # every session once, oldest first
            assert client.get("/v1/sessions", params={"cursor": "nope"}).status_code == 400
        with live.client(live.key("other")) as other:
            assert other.get("/v1/sessions", params={"cursor": made[0]}).status_code == 400
            assert other.get("/v1/sessions").json() == {"sessions": [], "next_cursor": None}


def test_a_full_disk_is_507_storage_full_and_keeps_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = served_env(home)
    key = new_key(env, "hoarder")
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    big = png_bytes(Image.fromarray(noise))  # ~270 KB of noise: no file this size may be written
    small = png_bytes(skimage_photo("astronaut").resize((64, 64)))
    server = ServedProcess(env, "--log-level", "warning", max_file_bytes=200_000)
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
            session_id = client.post("/v1/sessions", json={}).json()["id"]
            full = client.post(f"/v1/sessions/{session_id}/images", files={"file": ("big.png", big)})
            assert full.status_code == 507, full.text
            assert full.json()["code"] == "storage_full" and "storage is full" in full.json()["message"]
            assert client.get(f"/v1/sessions/{session_id}").json()["images"] == []
            added = client.post(f"/v1/sessions/{session_id}/images", files={"file": ("small.png", small)})
            assert added.status_code == 201, added.text  # the service goes on
    finally:
        server.stop()
    leftovers = [p for p in (home / "blobs").rglob("*") if p.is_file() and p.stat().st_size >= 200_000]
    assert leftovers == [] and not list((home / "blobs").rglob(".tmp-*"))


def test_the_input_of_an_edit_that_failed_on_a_truncated_image_is_not_kept(tmp_path: Path) -> None:
    truncated = png_claiming(64, 64, rows=8)  # a valid header; the pixel data stops early
    with LiveServer(server_settings(tmp_path / "home")) as live, live.client(live.key("cutter")) as client:
        blob = live.app.state.ctx.store.blobs.path(hashlib.sha256(truncated).hexdigest())
        job = wait_for_job(client, post_edit(client, truncated, instruction="make it brighter"))
        assert job["status"] == "failed" and job["error"]["code"] == "bad_input", job
        assert removed_soon(blob), "the unreadable upload is still stored"
        photo = png_bytes(skimage_photo("astronaut").resize((48, 48)))
        assert (
            wait_for_job(client, post_edit(client, photo, instruction="make it brighter"))["status"] == "done"
        )
        assert live.app.state.ctx.store.blobs.path(hashlib.sha256(photo).hexdigest()).exists()
