"""``/healthz`` for load balancers (no key) and ``/metrics`` for Prometheus (a key unless local)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from server.deps import Ctx, bearer, client_address, login

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Readiness: database, storage and broker answer; workers per pool")
def healthz(ctx: Ctx, response: Response) -> dict[str, Any]:
    """``database``, ``storage`` and (with Celery workers) ``broker``: ``ok`` or ``unreachable``;
    ``workers``: alive per pool. 503 when the database or the broker cannot be reached, so a load
    balancer sends requests elsewhere (a node without them cannot queue a job); an unreachable
    store is reported, and fails only the requests that need it."""
    checks = {"database": _answers(lambda: _ping_database(ctx)), "storage": _answers(ctx.store.blobs.check)}
    checks.update({name: "ok" if up else UNREACHABLE for name, up in ctx.queue.dependencies().items()})
    ready = checks["database"] == "ok" and checks.get("broker", "ok") == "ok"
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", **checks}
    if ready:
        pools = ctx.queue.pools()
        body["jobs"] = ctx.queue.stats()
        body["workers"] = {pool: state.workers for pool, state in pools.items()}
    if ready and ctx.warm_up.status != "ok":
        # While the qwen model loads at start (or after it failed to): not ready for traffic yet.
        ready = False
        body["status"] = ctx.warm_up.status
        if ctx.warm_up.error:
            body["error"] = ctx.warm_up.error
    if not ready:
        response.status_code = 503
    return body


UNREACHABLE = "unreachable"


def _ping_database(ctx: Ctx) -> None:
    with ctx.db() as db:
        db.execute(text("SELECT 1"))


def _answers(check: Callable[[], object]) -> str:
    try:
        check()
    except Exception:  # whatever the driver raises, the answer is the same: not reachable now
        return UNREACHABLE
    return "ok"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, ctx: Ctx) -> Response:
    """Open to loopback callers; elsewhere (``IMGEDIT_METRICS_AUTH=auto``, the default) or always
    (``on``) it needs a key, and then shows that tenant's job counts only."""
    tenant = None
    if metrics_need_a_key(ctx.settings.metrics_auth, request):
        credentials = await bearer(request)
        who = login(ctx, credentials.credentials if credentials else None, client_address(request))
        ctx.limiter.check(who.key_id)
        tenant = who.tenant
    body = await run_in_threadpool(ctx.metrics.render, ctx.queue, ctx.hub.count, tenant)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metrics_need_a_key(setting: str, request: Request) -> bool:
    """``on``: always; ``off``: never; ``auto``: unless the request came in over loopback."""
    if setting != "auto":
        return setting == "on"
    server = request.scope.get("server") or ("", 0)
    try:
        return not ipaddress.ip_address(server[0]).is_loopback
    except ValueError:
        return True
