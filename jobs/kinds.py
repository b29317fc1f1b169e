"""Every job kind, by name: what a host (the local scheduler, a worker) registers to run jobs."""

from __future__ import annotations

from typing import Any

from jobs.base import JobKind
from jobs.batch import BATCH
from jobs.batch_review import BATCH_REVIEW
from jobs.chat import CHAT
from jobs.deck import DECK
from jobs.edit import EDIT
from jobs.figma import FIGMA

KINDS: dict[str, JobKind[Any]] = {kind.name: kind for kind in (EDIT, CHAT, DECK, FIGMA, BATCH, BATCH_REVIEW)}
