"""``/healthz`` for load balancers and ``/metrics`` for Prometheus (neither needs a key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from server.deps import Ctx

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and readiness: the database answers and workers exist")
def healthz(ctx: Ctx) -> dict[str, Any]:
    with ctx.db() as db:
        db.execute(text("SELECT 1"))
    return {"status": "ok", "jobs": ctx.queue.stats()}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.render(ctx.queue, ctx.hub.count), media_type=CONTENT_TYPE_LATEST)
