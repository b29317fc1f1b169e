"""Reading text in images with RapidOCR (PP-OCRv4 models shipped inside the wheel, offline).

The OCR engine takes about a second to load, so it is built once per process under a lock and
shared. Detection runs on the image scaled to at most ``DETECT_SIDE`` pixels (its cost grows
with the pixel count), while recognition reads crops of the full-resolution image, so large
images stay fast without losing small text. This drives RapidOCR's stages (``text_det``,
``text_cls``, ``text_rec``) directly, as its ``__call__`` offers no way to cap the detection size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.classic.regions import Rect
from imgedit.errors import EngineError

#: Longest side the text detector sees; boxes are mapped back to full resolution.
DETECT_SIDE = 768
#: Recognitions below this confidence are noise (textures read as letters).
MIN_SCORE = 0.5
#: A single character read with less confidence than this may be a shape, not writing.
SURE_SCORE = 0.9

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True)
class TextLine:
    """One line of text found in the image: what it says, where, and how sure the reader is."""

    text: str
    quad: tuple[tuple[float, float], ...]  # four corners, clockwise from top-left, in pixels
    score: float

    @property
    def is_writing(self) -> bool:
        """Whether the line reads as writing rather than a shape OCR took for a letter (a mug's
        handle read as 'D'): two letters or digits at least, or one read with near certainty.
        Edits that take "the text there" without naming it (a watermark, a caption) act only on
        writing, so they never erase part of the product."""
        return sum(ch.isalnum() for ch in self.text) >= 2 or self.score >= SURE_SCORE

    @property
    def rect(self) -> Rect:
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return Rect(
            int(np.floor(min(xs))), int(np.floor(min(ys))), int(np.ceil(max(xs))), int(np.ceil(max(ys)))
        )


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
            _engine = RapidOCR(print_verbose=False)
        return _engine


def _detect_and_read(reader: Any, bgr: np.ndarray) -> list[tuple[Any, str, float]]:
    """(quad, text, score) per line: detection on a reduced copy, recognition at full resolution.

    RapidOCR's own ``limit_side_len`` is overridden inside its detector (it detects at up to
    2000 px, about 13 s at 2048² on two cores), so we scale for detection ourselves and run its
    classifier and recogniser on crops of the full image.
    """
    height, width = bgr.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    small = (
        bgr
        if scale == 1.0
        else cv2.resize(bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    )
    boxes, _ = reader.text_det(small)
    if boxes is None or len(boxes) == 0:
        return []
    boxes = reader.sorted_boxes(boxes)
    quads = [np.asarray(box, dtype=np.float32) / scale for box in boxes]
    for quad in quads:
        np.clip(quad[:, 0], 0, width - 1, out=quad[:, 0])
        np.clip(quad[:, 1], 0, height - 1, out=quad[:, 1])
    crops = reader.get_crop_img_list(bgr, quads)
    crops, _, _ = reader.text_cls(crops)
    recognised, _ = reader.text_rec(crops, False)
    return [(quad, str(text), float(score)) for quad, (text, score) in zip(quads, recognised, strict=True)]


def read_text(image: np.ndarray) -> list[TextLine]:
    """Every line of text in an RGB image, top to bottom, with boxes in the image's pixels."""
    reader = get_reader()
    bgr = np.ascontiguousarray(image[..., ::-1])
    # The reader's sessions are not documented as re-entrant; one call at a time per process.
    with _lock:
        result = _detect_and_read(reader, bgr)
    lines: list[TextLine] = []
    for quad, text, score in result:
        if score < MIN_SCORE or not text.strip():
            continue
        corners = tuple((float(x), float(y)) for x, y in np.asarray(quad, dtype=np.float64).reshape(4, 2))
        lines.append(TextLine(text=text, quad=corners, score=score))
    lines.sort(key=lambda line: (line.rect.y0, line.rect.x0))
    return lines
