"""NSFW check of edit outputs with NudeNet's bundled detector (``320n.onnx`` in its wheel).

The detector is loaded once per process, on first use, and shared under a lock (ONNX Runtime
sessions are thread-safe for ``run`` but loading twice wastes a second and memory).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imgedit.errors import UnsafeContentError

#: Detector classes that make an output unsafe to return.
EXPLICIT_CLASSES = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)
DEFAULT_THRESHOLD = 0.6

_detector: Any = None
_detector_lock = threading.Lock()


@dataclass
class Detection:
    label: str
    score: float
    box: tuple[int, int, int, int]


def _get_detector() -> Any:
    global _detector
    with _detector_lock:
        if _detector is None:
            from nudenet import NudeDetector

            _detector = NudeDetector()
        return _detector


def detect_explicit(image: Image.Image, threshold: float = DEFAULT_THRESHOLD) -> list[Detection]:
    """Explicit-content detections in ``image`` scoring at least ``threshold``."""
    return [d for d in detect_all(image) if d.label in EXPLICIT_CLASSES and d.score >= threshold]


def check_output_safety(image: Image.Image, threshold: float = DEFAULT_THRESHOLD) -> None:
    """Raise ``UnsafeContentError`` when the output shows explicit content."""
    raise_if_unsafe(detect_explicit(image, threshold))


def detect_all(image: Image.Image) -> list[Detection]:
    """Every detection, explicit or not (faces, covered parts): for diagnostics and tests."""
    import numpy as np  # here, not at the top: commands that never edit should not load numpy

    # NudeDetector expects a 4-channel RGBA array when given an ndarray.
    found = _get_detector().detect(np.asarray(image.convert("RGBA")))
    return [Detection(label=d["class"], score=float(d["score"]), box=tuple(d["box"])) for d in found]


def raise_if_unsafe(hits: list[Detection]) -> None:
    """Raise ``UnsafeContentError`` naming what was found, when ``hits`` is not empty."""
    if hits:
        labels = ", ".join(sorted({hit.label.lower().replace("_", " ") for hit in hits}))
        raise UnsafeContentError(
            f"The edited image was withheld: the NSFW check found {labels}.",
            hint="Rephrase the instruction; operators can turn the check off with IMGEDIT_NSFW_CHECK=0.",
        )
