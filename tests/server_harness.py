"""A real imgedit server for the server tests: uvicorn on 127.0.0.1, a free port, in a thread.

``Storage`` says where the server keeps its state: ``embedded`` (SQLite and a blob folder in
its home, the default) or ``postgres+s3`` (a PostgreSQL database and an S3 prefix on the real
servers of cluster/servers.py). The service tests take the ``storage`` fixture (tests/conftest.py),
which runs them once per kind.
"""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from PIL import Image

from cluster.processes import imgedit_command
from cluster.servers import free_port
from imgedit.config import Settings
from server.app import create_app

if TYPE_CHECKING:
    from cluster.servers import PostgresServer, S3Server

EMBEDDED = "embedded"
POSTGRES_S3 = "postgres+s3"


@dataclass
class Storage:
    """Where servers built by ``settings`` keep their state.

    With ``postgres+s3`` every home folder gets its own database and S3 prefix, made on first
    use and the same for every later server on that home: a restart test finds its state again,
    and other tests never see it.
    """

    kind: str = EMBEDDED
    postgres: PostgresServer | None = None
    s3: S3Server | None = None
    _places: dict[Path, tuple[str, str]] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return self.kind == POSTGRES_S3

    def overrides(self, home: Path) -> dict[str, Any]:
        """The settings that put a server on ``home`` onto this storage."""
        if not self.remote:
            return {}
        assert self.postgres is not None and self.s3 is not None
        if home not in self._places:
            self._places[home] = (self.postgres.new_database(), self.s3.new_url())
        database_url, blob_url = self._places[home]
        return {"database_url": database_url, "blob_url": blob_url, "s3_endpoint_url": self.s3.endpoint_url}

    def settings(self, home: Path, **overrides: Any) -> Settings:
        return server_settings(home, **self.overrides(home), **overrides)

    def environment(self, home: Path) -> dict[str, str]:
        """The same as ``IMGEDIT_*`` variables, for an ``imgedit`` subprocess."""
        return {f"IMGEDIT_{name.upper()}": str(value) for name, value in self.overrides(home).items()}


def server_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "engine": "classic",
        "nsfw_check": False,
        "classic_workers": 2,
        "rate_limit_per_minute": 0,
    }
    values.update(overrides)
    return Settings(**values)


class LiveServer:
    """``with LiveServer(settings) as live:`` serves until the block ends."""

    def __init__(self, settings: Settings, **app_options: Any) -> None:
        self.app = create_app(settings, **app_options)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/v1/ws"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def key(self, tenant: str = "acme") -> str:
        return str(self.app.state.ctx.keys.create(tenant).key)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll ``GET /v1/jobs/{id}`` until the job has finished; return its last state."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return dict(job)
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.05)


def wait_for_steps(client: httpx.Client, job_id: str, steps: int, what: str, timeout: float = 30) -> None:
    """Poll until the job reports ``steps`` done (so a test can kill its server mid-job)."""
    deadline = time.monotonic() + timeout
    while client.get(f"/v1/jobs/{job_id}").json()["progress"]["done"] < steps:
        assert time.monotonic() < deadline, f"the {what} job never got going"
        time.sleep(0.05)


def removed_soon(path: Path, timeout: float = 10) -> bool:
    """Whether ``path`` is gone within ``timeout`` seconds.

    A finished job's clean-up runs in the job listeners, just after the job's final state is
    committed, so a client that has seen the job finish may look a moment before it is done.
    """
    deadline = time.monotonic() + timeout
    while path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class RawWebSocket:
    """A WebSocket client over a plain socket, for clients a library would not let us be: one
    that never reads, or sends what a well-behaved client never sends. Sends fail with
    ``TimeoutError`` once the server stops taking bytes, instead of blocking."""

    def __init__(self, port: int, path: str, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def send(self, payload: bytes | str, opcode: int | None = None) -> None:
        data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        op = opcode if opcode is not None else (0x1 if isinstance(payload, str) else 0x2)
        mask = os.urandom(4)
        size = len(data)
        if size < 126:
            header = bytes([0x80 | op, 0x80 | size])
        elif size < 65536:
            header = bytes([0x80 | op, 0x80 | 126]) + struct.pack("!H", size)
        else:
            header = bytes([0x80 | op, 0x80 | 127]) + struct.pack("!Q", size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def recv(self) -> tuple[int, bytes]:
        """The next frame: ``(opcode, payload)``; opcode 8 is a close (payload: code, reason)."""
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._exactly(8))[0]
        return first & 0x0F, self._exactly(size)

    def close_code(self) -> int | None:
        """Read frames until the server's close frame; its code (``None`` if the TCP stream ends first)."""
        while True:
            try:
                opcode, payload = self.recv()
            except ConnectionError:
                return None
            if opcode == 0x8:
                return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def serving_soon(url: str, proc: subprocess.Popen[Any], timeout: float = 60) -> bool:
    """Whether the server at ``url`` answers ``/healthz`` before ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


class ServedProcess:
    """``imgedit serve`` in a subprocess, for tests that measure the process itself (its memory,
    its log). ``env`` is the whole environment; stderr is kept and returned by ``stop``."""

    def __init__(self, env: dict[str, str], *args: str, max_file_bytes: int | None = None) -> None:
        """``max_file_bytes``: the largest file the server may write (``RLIMIT_FSIZE``); a
        larger write fails with ``EFBIG``, as a full disk fails one with ``ENOSPC``."""
        self.port = free_port()

        def limit_files() -> None:
            if max_file_bytes is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            imgedit_command("serve", "--port", str(self.port), *args),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limit_files,
        )
        if not serving_soon(self.url, self.proc):
            raise RuntimeError(f"imgedit serve did not start: {self.stop()[-2000:]}")

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL); its stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, log = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, log = self.proc.communicate(timeout=10)
        return str(log)


def served_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``imgedit serve`` subprocess on the classic engine in ``home``."""
    env = {**os.environ, "IMGEDIT_HOME": str(home), "IMGEDIT_ENGINE": "classic", "IMGEDIT_NSFW_CHECK": "0"}
    env.update(HF_HUB_OFFLINE="1", **extra)
    return env


def new_key(env: dict[str, str], tenant: str) -> str:
    """A key made by ``imgedit keys create`` (so a server started later prints none)."""
    created = subprocess.run(
        imgedit_command("keys", "create", "--tenant", tenant, "--json"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(created.stdout)["key"])
