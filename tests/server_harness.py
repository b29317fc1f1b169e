"""A real imgedit server for the server tests: uvicorn on 127.0.0.1, a free port, in a thread.

``Storage`` says where the server keeps its state: ``embedded`` (SQLite and a blob folder in
its home, the default) or ``postgres+s3`` (a PostgreSQL database and an S3 prefix on the real
servers of tests/servers.py). The service tests take the ``storage`` fixture (tests/conftest.py),
which runs them once per kind.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from PIL import Image

from imgedit.config import Settings
from server.app import create_app

if TYPE_CHECKING:
    from tests.servers import PostgresServer, S3Server

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
