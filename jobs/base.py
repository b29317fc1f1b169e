"""What a job kind is, what it is given, what it returns: the typed job layer's shared types.

The adapters (server routes, WebSockets, later the CLI) turn requests into jobs; the core
(engine, sessions, the agent's tools) does the work. Between them each job kind (jobs/edit.py,
jobs/chat.py, jobs/deck.py, jobs/figma.py) is one ``JobKind``: a pydantic ``Params`` model, the
``Pool`` of workers it needs, and ``run(params, ctx)``.

- ``Params`` dump to plain JSON, so a job can be queued in this process today
  (server/scheduler/local.py) and cross a broker to a worker on another machine later.
- ``JobContext`` is an interface: whoever runs the job (the local scheduler's threads, a broker's
  worker) gives progress, the cancel check, the session store with its blob store, and the
  engines, and nothing in a job kind knows which host it runs on.
- A kind's effects happen once per job, whatever happens to the process running it: a job may
  be run again after a crash (or a broker's redelivery), and ``run`` finds what a previous run of
  the same job id recorded instead of doing it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine import Editor
from engine.types import CancelToken
from imgedit.config import Settings
from sessions import SessionStore

if TYPE_CHECKING:
    from jobs.edit import EditProduct, EditTask

#: Where a job runs: ``gpu`` workers (the qwen model loaded) or ``cpu`` workers (classic engine,
#: decks of classic edits, chat turns when no model serves).
Pool = Literal["cpu", "gpu"]
POOLS: tuple[Pool, ...] = ("cpu", "gpu")


def engine_pool(engine: str) -> Pool:
    """The pool for work done by ``engine`` (``qwen`` needs a GPU, everything else runs on CPUs)."""
    return "gpu" if engine == "qwen" else "cpu"


class JobParams(BaseModel):
    """Base of every kind's ``Params``: frozen, JSON-serialisable, validated when read back."""

    model_config = ConfigDict(frozen=True)

    #: Fields the server chooses at submission (the head version at that moment, the image a
    #: command means, the API key that asked): a retry with the same idempotency key may differ
    #: in them and still be the same request. Every other field must match, or reusing the key
    #: is a conflict.
    RESOLVED: ClassVar[frozenset[str]] = frozenset()

    def request_view(self) -> dict[str, Any]:
        """The fields that say what the client asked for (see ``RESOLVED``)."""
        return self.model_dump(mode="json", exclude=set(self.RESOLVED))

    def input_is_resolved(self) -> bool:
        """Whether the job's input blob was chosen by the server (so a retry may name another)."""
        return False

    def session_ref(self) -> tuple[str, str | None] | None:
        """The session (and image) the job works on, for the job's JSON; ``None`` for no session."""
        return None


@dataclass
class JobOutcome:
    """What a run produced: result bytes (already in the blob store) and/or JSON."""

    result_blob: str | None = None
    result_format: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class TurnFunction(Protocol):
    """Runs one chat turn (server/agent_bridge.py adapts ``agent.ChatAgent``); the JSON turn back."""

    def __call__(
        self,
        *,
        session_id: str,
        text: str,
        image_ids: list[str],
        turn_id: str,
        progress: Callable[[int, int], None],
        cancel: CancelToken,
    ) -> dict[str, Any]: ...


class JobContext(Protocol):
    """What a running job is given by its host.

    ``job_id`` keys every effect of the job (exactly once); ``input_blob`` is the job's input (an
    image, a deck) in the blob store; ``started`` is the ``time.perf_counter()`` at which the host
    took the job, so a kind can report how much of its time was bookkeeping.
    """

    @property
    def job_id(self) -> str: ...
    @property
    def input_blob(self) -> str | None: ...
    @property
    def started(self) -> float: ...
    @property
    def cancel(self) -> CancelToken:
        """Polled between steps; ``raise_if_cancelled`` ends the job as cancelled."""

    @property
    def store(self) -> SessionStore:
        """The session store; its ``blobs`` is the blob store."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> sessionmaker[DbSession]:
        """The database, for a kind's own records (the Figma results)."""

    def progress(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` steps (announced to whoever follows the job)."""

    def editor(self, engine: str) -> Editor:
        """The process's ``Editor`` for ``engine`` (built once, shared by the jobs)."""

    def perform_edit(self, task: EditTask) -> EditProduct:
        """An edit's image work, wherever this host runs it (a worker process for classic edits)."""

    def chat_turns(self) -> TurnFunction:
        """The agent's turn function (``AgentUnavailableError`` where the agent cannot run)."""


P = TypeVar("P", bound=JobParams)


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """One kind of job: its name, its ``Params`` model, the pool it needs and what it does.

    ``quiet_seconds``: progress in a job's first seconds is recorded but not announced (an edit
    over by then would only make a progress bar flicker; see jobs/edit.py).
    """

    name: str
    params: type[P]
    pool: Callable[[P], Pool]
    run: Callable[[P, JobContext], JobOutcome]
    quiet_seconds: float = 0.0

    def parse(self, data: dict[str, Any]) -> P:
        """The job's params as its kind reads them (from the JSON a queue stored or carried)."""
        return self.params.model_validate(data)

    def execute(self, data: dict[str, Any], ctx: JobContext) -> JobOutcome:
        return self.run(self.parse(data), ctx)
