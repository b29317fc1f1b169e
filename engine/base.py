"""The interface every edit backend implements.

A backend declares the operation kinds it can execute (``capabilities``) so the editor can
route a plan, or refuse it honestly, before any work starts. ``run`` receives the parsed plan
and returns an image of the first input's size (unless the plan changes geometry); the editor
does preservation, the edit-area guard and the safety check afterwards, the same for all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine.plan import EditPlan
from engine.types import CancelToken, EditRequest, EngineOutput, ProgressCallback


class Engine(ABC):
    """An edit backend."""

    #: Short name used in settings, reports and the CLI (``classic``, ``qwen``).
    name: str
    #: Operation kinds (``EditPlan.kinds``) this backend executes.
    capabilities: frozenset[str]
    #: True when the backend changes only the pixels its operations name (classic), so the
    #: editor measures the change exactly and needs no alignment or compositing.
    exact: bool = False

    def unsupported(self, plan: EditPlan) -> list[str]:
        """The plan's operation kinds this backend cannot execute, in plan order."""
        return [kind for kind in plan.kinds if kind not in self.capabilities]

    @abstractmethod
    def run(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineOutput:
        """Execute ``plan`` on ``request.images``; report progress and honour ``cancel`` between steps."""
