"""Reading text in images with RapidOCR (PP-OCRv4 models shipped inside the wheel, offline).

The OCR engine takes about a second to load, so it is built once per process under a lock and
shared. Detection runs on the image scaled to at most ``DETECT_SIDE`` pixels (its cost grows
with the pixel count), while recognition reads crops of the full-resolution image, so large
images stay fast without losing small text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.classic.regions import Rect
from imgedit.errors import EngineError

#: Longest side the text detector sees; boxes are mapped back to full resolution.
DETECT_SIDE = 960
#: Recognitions below this confidence are noise (textures read as letters).
MIN_SCORE = 0.5

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True)
class TextLine:
    """One line of text found in the image: what it says, where, and how sure the reader is."""

    text: str
    quad: tuple[tuple[float, float], ...]  # four corners, clockwise from top-left, in pixels
    score: float

    @property
    def rect(self) -> Rect:
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return Rect(int(np.floor(min(xs))), int(np.floor(min(ys))), int(np.ceil(max(xs))), int(np.ceil(max(ys))))


def get_reader() -> Any:
    """The process-wide RapidOCR instance, created on first use."""
    global _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:  # pragma: no cover - a declared dependency
                raise EngineError(
                    "Text editing needs the rapidocr-onnxruntime package.",
                    hint="Install the project's dependencies again (make setup).",
                ) from exc
            _engine = RapidOCR(
                det_limit_type="max",
                det_limit_side_len=DETECT_SIDE,
                max_side_len=100_000,  # never shrink the image for recognition
                print_verbose=False,
            )
        return _engine


def read_text(image: np.ndarray) -> list[TextLine]:
    """Every line of text in an RGB image, top to bottom, with boxes in the image's pixels."""
    reader = get_reader()
    bgr = np.ascontiguousarray(image[..., ::-1])
    # The reader's session is not documented as re-entrant; one call at a time per process.
    with _lock:
        result, _ = reader(bgr)
    lines: list[TextLine] = []
    for quad, text, score in result or []:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        corners = tuple((float(x), float(y)) for x, y in np.asarray(quad, dtype=np.float64).reshape(4, 2))
        lines.append(TextLine(text=str(text), quad=corners, score=float(score)))
    lines.sort(key=lambda line: (line.rect.y0, line.rect.x0))
    return lines

