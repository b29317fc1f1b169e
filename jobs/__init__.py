"""The typed job layer: one module per job kind (edit, chat, deck, figma), between the adapters
(server routes, WebSockets) and the core (engine, sessions, the agent). See jobs/base.py."""

from jobs.base import POOLS, JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool

__all__ = ["POOLS", "JobContext", "JobKind", "JobOutcome", "JobParams", "Pool", "engine_pool"]
