"""FastAPI dependencies: the caller's identity (API key -> tenant) and their rate limit.

``login`` is the one key check of every door (HTTP, ``/v1/ws``, ``/v1/figma``): it also counts
failed logins per client address, and an address over ``IMGEDIT_FAILED_LOGINS_PER_MINUTE``
is answered ``429`` before its next key is even looked at, so keys cannot be tried in bulk.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from imgedit.errors import ImgEditError
from server.auth import Principal
from server.context import ServerContext, get_ctx
from server.errors import RateLimitedError, UnauthorizedError
from server.sockets import UNAUTHORIZED
from sessions import SessionInfo

#: Close code of a socket refused because its address failed to log in too often.
TOO_MANY_LOGINS = 4429

bearer = HTTPBearer(auto_error=False, description="An API key from `imgedit keys create`.")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The tenant behind the ``Authorization: Bearer`` key; 401 without a valid one, 429 over the limit.

    ``async``, so the check runs on the event loop: it is one primary-key read of a pooled SQLite
    connection (~0.1 ms, and a WAL reader never waits for writers), while a plain ``def``
    dependency is run in a worker thread, and that hop cost ~0.6 ms of CPU per request under load
    (bench/server_load.py). The pool is larger than the threads that can hold a connection
    (sessions/db.py), so taking one here never waits.
    """
    ctx = get_ctx(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError(
            "This endpoint needs an API key.",
            hint="Send 'Authorization: Bearer KEY'; create a key with `imgedit keys create --tenant NAME`.",
        )
    who = login(ctx, credentials.credentials, client_address(request))
    ctx.limiter.check(who.key_id)
    return who


def client_address(connection: Request | WebSocket) -> str:
    """The peer's address, the unit failed logins are counted by."""
    return connection.client.host if connection.client else "unknown"


def login(ctx: ServerContext, token: str | None, address: str) -> Principal:
    """The principal of ``token``; ``UnauthorizedError`` for a bad key, ``RateLimitedError`` once
    ``address`` has failed too often (then the key is not even checked)."""
    ctx.login_limiter.check(address, take=False)
    who = ctx.keys.authenticate(token) if token else None
    if who is None:
        # This failure is answered 401 whatever the count; the next attempt from the address, 429.
        with contextlib.suppress(RateLimitedError):
            ctx.login_limiter.check(address)
        raise UnauthorizedError(
            "The API key is unknown or revoked.",
            hint="Check the key you sent, or create one with `imgedit keys create --tenant NAME`.",
        )
    return who


def login_close_code(exc: ImgEditError) -> int:
    """The close code for a socket whose login failed with ``exc``."""
    return TOO_MANY_LOGINS if isinstance(exc, RateLimitedError) else UNAUTHORIZED


async def request_ctx(request: Request) -> ServerContext:
    """``get_ctx`` as an async dependency: FastAPI runs a plain ``def`` dependency in a worker
    thread, and that hop (for one attribute read) cost more than the read on every request."""
    return get_ctx(request)


Caller = Annotated[Principal, Depends(principal)]
Ctx = Annotated[ServerContext, Depends(request_ctx)]


def owned_session(session_id: str, ctx: Ctx, who: Caller) -> SessionInfo:
    """The session named in the path, if it belongs to the caller's tenant.

    Another tenant's session answers 404 exactly like one that does not exist, so ids cannot be
    probed. A plain ``def``: FastAPI runs it in a worker thread, as the database read may wait.
    """
    return ctx.store.get_session(session_id, tenant=who.tenant)


OwnedSession = Annotated[SessionInfo, Depends(owned_session)]
