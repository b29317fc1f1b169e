"""Prometheus metrics, on a registry per app so that several apps (tests) never collide.

Finished jobs are counted per tenant. With Celery workers every API node hears every job's
events, so each node's job counts and durations are the whole deployment's: read them from one
node (or take the maximum), do not add them up. Queue depth and workers alive per pool come
from the database and the workers' heartbeats, the same on every node.

Where ``/metrics`` needs a key (``IMGEDIT_METRICS_AUTH``, by default whenever the request did
not come in over loopback), a caller sees the service-wide figures (requests, latency, queue,
sockets) and only its own tenant's job counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.scheduler import JobEvent, JobQueue


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "imgedit_http_requests", "HTTP requests.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "imgedit_http_request_seconds", "HTTP request latency.", ["route"], registry=self.registry
        )
        self.jobs = Counter(
            "imgedit_jobs", "Finished jobs.", ["tenant", "kind", "status"], registry=self.registry
        )
        self.job_seconds = Histogram(
            "imgedit_job_seconds", "Job run time.", ["kind", "pool"], registry=self.registry
        )
        self.queued = Gauge("imgedit_jobs_queued", "Jobs waiting.", registry=self.registry)
        self.running = Gauge("imgedit_jobs_running", "Jobs running.", registry=self.registry)
        self.pool_queued = Gauge(
            "imgedit_queue_depth", "Jobs waiting, per pool.", ["pool"], registry=self.registry
        )
        self.pool_running = Gauge(
            "imgedit_pool_jobs_running", "Jobs running, per pool.", ["pool"], registry=self.registry
        )
        self.workers = Gauge(
            "imgedit_workers_alive",
            "Workers taking jobs, per pool (Celery: heartbeat within the job lease).",
            ["pool"],
            registry=self.registry,
        )
        self.websockets = Gauge("imgedit_websockets", "Open WebSocket connections.", registry=self.registry)

    def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        if event.type == "job" and job.finished:
            self.jobs.labels(job.tenant, job.kind, job.status).inc()
            if job.seconds is not None and not job.cached:
                self.job_seconds.labels(job.kind, job.pool).observe(job.seconds)

    def render(self, queue: JobQueue, websockets: Callable[[], int], tenant: str | None = None) -> bytes:
        """The Prometheus text; with ``tenant``, samples of other tenants are left out."""
        stats = queue.stats()
        self.queued.set(stats["queued"])
        self.running.set(stats["running"])
        for pool, state in queue.pools().items():
            self.pool_queued.labels(pool).set(state.queued)
            self.pool_running.labels(pool).set(state.running)
            self.workers.labels(pool).set(state.workers)
        self.websockets.set(websockets())
        return generate_latest(self.registry if tenant is None else _OneTenant(self.registry, tenant))


class _OneTenant:
    """``registry`` as seen by one tenant: samples labelled with another tenant are dropped."""

    def __init__(self, registry: CollectorRegistry, tenant: str) -> None:
        self.registry = registry
        self.tenant = tenant

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            family.samples = [s for s in family.samples if s.labels.get("tenant", self.tenant) == self.tenant]
            yield family


class MetricsMiddleware:
    """Counts requests by route template (not raw path, which would explode label cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - started)
