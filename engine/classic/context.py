"""What every operation handler receives besides the image: the request, and places to report.

Handlers return only the edited image; warnings (for example the quality note on background
separation) and per-stage timings (OCR, inpaint, render) travel through ``OpContext`` so the
report can say where the time went without widening every handler's return type.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from engine.types import EditRequest


@dataclass
class OpContext:
    request: EditRequest
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        """The request's seed, 0 when none was given, so unseeded edits are still deterministic."""
        return self.request.seed if self.request.seed is not None else 0

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``timings[stage]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started


def pixels_of(image: Image.Image) -> np.ndarray:
    """The RGB pixels of ``image`` as a read-only array, converting only when it is not RGB."""
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
