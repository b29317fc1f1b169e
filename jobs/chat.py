"""The ``chat`` job: one turn of a conversation, run by the agent in a worker slot like any edit,
so chat shares the fair, prioritised queue (a chat turn usually runs an edit).

The turn's effects happen once per job: the job id is the turn's id, so a turn re-run after a
crash neither records the user's message twice nor applies an edit twice (agent/chat.py and
tools/session_edit.py), and a turn that had finished answers with its recorded reply.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool


class ChatParams(JobParams):
    RESOLVED: ClassVar[frozenset[str]] = frozenset({"engine"})

    session_id: str
    text: str
    image_ids: list[str] = Field(default_factory=list)
    #: The engine the turn's edits run on (chosen by the server): it decides the pool.
    engine: str = "classic"

    def session_ref(self) -> tuple[str, str | None] | None:
        return (self.session_id, None)


def pool(params: ChatParams) -> Pool:
    """Chat turns run where their edits will: the GPU pool when qwen serves, else the CPU one."""
    return engine_pool(params.engine)


def run(params: ChatParams, ctx: JobContext) -> JobOutcome:
    turn = ctx.chat_turns()(
        session_id=params.session_id,
        text=params.text,
        image_ids=list(params.image_ids),
        turn_id=ctx.job_id,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    return JobOutcome(result=dict(turn))


CHAT = JobKind("chat", ChatParams, pool, run)
