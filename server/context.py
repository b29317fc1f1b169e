"""``ServerContext``: the objects one app instance shares (database, stores, queue, event hub).

Kept on ``app.state.ctx`` rather than in module globals, so several apps (tests, or a second
server in one process) never share state by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request, WebSocket
from sqlalchemy import Engine
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from imgedit.config import Settings
from jobs.editors import Editors
from server.auth import KeyStore
from server.events import EventHub
from server.metrics import Metrics
from server.ratelimit import RateLimiter
from server.scheduler import JobQueue
from server.uploads import Decoder
from server.warm_up import WarmUpState
from sessions import SessionStore


@dataclass
class ServerContext:
    settings: Settings
    db_engine: Engine
    db: sessionmaker[DbSession]
    store: SessionStore
    keys: KeyStore
    editors: Editors
    queue: JobQueue
    hub: EventHub
    metrics: Metrics
    limiter: RateLimiter
    #: Failed logins per client address (server/deps.py ``login``).
    login_limiter: RateLimiter
    #: The thread the server process decodes images on for requests (server/uploads.py).
    decoder: Decoder
    #: Whether the editor is warm (server/warm_up.py); /healthz says "loading" until it is.
    warm_up: WarmUpState = field(default_factory=WarmUpState)


def get_ctx(request: Request) -> ServerContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def ws_ctx(websocket: WebSocket) -> ServerContext:
    return websocket.app.state.ctx  # type: ignore[no-any-return]
