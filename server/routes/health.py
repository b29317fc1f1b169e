"""``/healthz`` for load balancers (no key) and ``/metrics`` for Prometheus (a key unless local)."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from server.deps import Ctx, bearer, client_address, login

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and readiness: the database answers and workers exist")
def healthz(ctx: Ctx) -> dict[str, Any]:
    with ctx.db() as db:
        db.execute(text("SELECT 1"))
    return {"status": "ok", "jobs": ctx.queue.stats()}


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
