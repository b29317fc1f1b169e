"""``ClassicEngine``: executes an ``EditPlan`` operation by operation on the CPU.

Each operation kind is handled by one function in its own module; the engine only dispatches,
reports progress (one step per operation) and checks for cancellation between operations.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PIL import Image

from engine.base import Engine
from engine.classic.adjust import apply_adjust
from engine.plan import Adjust, EditPlan
from engine.types import CancelToken, EditRequest, EngineOutput, ProgressCallback
from imgedit.config import Settings, get_settings

OperationHandler = Callable[[Image.Image, object, EditRequest], Image.Image]


def _adjust(image: Image.Image, op: object, request: EditRequest) -> Image.Image:
    assert isinstance(op, Adjust)
    return apply_adjust(image, op)


class ClassicEngine(Engine):
    name = "classic"
    exact = True

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.handlers: dict[str, OperationHandler] = {"adjust": _adjust}
        self.capabilities = frozenset(self.handlers)

    def run(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineOutput:
        image = request.image.convert("RGB")
        timings: dict[str, float] = {}
        total = len(plan.operations)
        for index, op in enumerate(plan.operations):
            if cancel is not None:
                cancel.raise_if_cancelled()
            started = time.perf_counter()
            image = self.handlers[op.op](image, op, request)
            key = f"{index}.{op.op}"
            timings[key] = time.perf_counter() - started
            if progress is not None:
                progress(index + 1, total)
        return EngineOutput(image=image, parameters={"operations": plan.kinds}, timings=timings)
