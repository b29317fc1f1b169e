"""Chat messages into ``chat`` jobs (jobs/chat.py): the turn shares the fair queue with edits."""

from __future__ import annotations

from jobs.chat import CHAT, ChatParams
from server.context import ServerContext
from server.scheduler import JobInfo


def submit_chat(
    ctx: ServerContext,
    tenant: str,
    session_id: str,
    text: str,
    image_ids: list[str],
    *,
    idempotency_key: str | None = None,
) -> JobInfo:
    """Check the session and images belong to the tenant (404 otherwise) and queue the turn."""
    ctx.store.get_session(session_id, tenant=tenant)
    for image_id in image_ids:
        ctx.store.image(image_id, session_id=session_id)
    params = ChatParams(
        session_id=session_id, text=text, image_ids=image_ids, engine=ctx.editors.default_engine()
    )
    return ctx.queue.submit_job(CHAT, params, tenant=tenant, idempotency_key=idempotency_key)
