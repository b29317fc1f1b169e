"""What every operation handler receives besides the image: the request, and places to report.

Handlers return only the edited image; warnings (for example a crop that had to cut text),
the methods used (``parameters``: which separation, which fill) and per-stage timings (OCR,
inpaint, render) travel through ``OpContext`` so the report can say how and where the time went
without widening every handler's return type. ``say`` picks the user's language (the
instruction's) for every message a user reads: warnings and refusals.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from engine.parsing.language import reply_language
from engine.types import EditRequest


@dataclass
class OpContext:
    request: EditRequest
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def zh(self) -> bool:
        """Whether the user wrote in Chinese, so messages for them are Chinese too."""
        return reply_language(self.request.instruction) == "zh"

    def say(self, en: str, zh: str) -> str:
        """The message in the user's language."""
        return zh if self.zh else en

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
