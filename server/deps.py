"""FastAPI dependencies: the caller's identity (API key -> tenant) and their rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth import Principal
from server.context import ServerContext, get_ctx
from server.errors import UnauthorizedError
from sessions import SessionInfo

_bearer = HTTPBearer(auto_error=False, description="An API key from `imgedit keys create`.")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
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
    who = ctx.keys.authenticate(credentials.credentials)
    if who is None:
        raise UnauthorizedError(
            "The API key is unknown or revoked.", hint="Create a new one with `imgedit keys create`."
        )
    ctx.limiter.check(who.key_id)
    return who


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
