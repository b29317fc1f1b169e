"""What a crop must keep whole, and where the crop window goes so it does.

Shoppers read the text on a product picture and look at the product; a crop that halves a price
tag or the top of a head is a damaged picture. ``keep_boxes`` lists what matters: every text
line OCR reads and the product when it stands on a plain backdrop (``separation.py``).
``best_window`` slides a crop window of a fixed size along the one axis it can move on and keeps
the most of those boxes; among equals it prefers the centred window across, and the top one
down: in a photo with nothing recognised a vertical crop takes from the bottom, where heads
and the tops of things are not (the usual photographers' rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.classic.context import OpContext
from engine.classic.ocr import read_text
from engine.classic.separation import MIN_CONFIDENCE, separate

#: Subjects are found on a copy whose longest side is at most this.
FRAMING_SIDE = 512

Window = tuple[int, int, int, int]


@dataclass(frozen=True)
class KeepBox:
    """A rectangle (x0, y0, x1, y1, pixels) that a crop should keep whole, and what it is."""

    box: Window
    label_en: str
    label_zh: str
    weight: float = 1.0


def _scaled(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = pixels.shape[:2]
    scale = min(1.0, FRAMING_SIDE / max(height, width))
    if scale == 1.0:
        return pixels, 1.0
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), scale


def _box_of(mask: np.ndarray, scale: float) -> Window:
    ys, xs = np.nonzero(mask)
    return (
        int(xs.min() / scale),
        int(ys.min() / scale),
        int(np.ceil((xs.max() + 1) / scale)),
        int(np.ceil((ys.max() + 1) / scale)),
    )


def keep_boxes(pixels: np.ndarray, ctx: OpContext) -> list[KeepBox]:
    """Everything a crop of ``pixels`` should keep whole: text lines, then the subject."""
    boxes = []
    with ctx.timed("ocr"):
        for line in read_text(pixels):
            rect = line.rect
            boxes.append(
                KeepBox((rect.x0, rect.y0, rect.x1, rect.y1), f"the text '{line.text}'", f"文字“{line.text}”")
            )
    small, scale = _scaled(pixels)
    with ctx.timed("subject"):
        separation = separate(small)
        if separation.confidence >= MIN_CONFIDENCE and (separation.alpha > 0.5).any():
            boxes.append(
                KeepBox(_box_of(separation.alpha > 0.5, scale), "the product", "商品主体", weight=3.0)
            )
    return boxes


def best_window(base: Window, size: tuple[int, int], boxes: list[KeepBox]) -> tuple[Window, list[KeepBox]]:
    """The crop window of ``size`` inside ``base`` that keeps the most (by weight) of ``boxes``
    whole, the centred one among equals; and the boxes it still cuts or leaves out."""
    bx0, by0, bx1, by1 = base
    width, height = size
    slack_x, slack_y = (bx1 - bx0) - width, (by1 - by0) - height
    horizontal = slack_x > 0
    start, slack, length = (bx0, slack_x, width) if horizontal else (by0, slack_y, height)
    spans = [(box.box[0], box.box[2]) if horizontal else (box.box[1], box.box[3]) for box in boxes]
    centred = start + slack // 2 if horizontal else start
    candidates = {centred, start, start + slack}
    for low, high in spans:
        candidates.update({low, high - length, (low + high - length) // 2})

    def kept(offset: int) -> float:
        return sum(
            b.weight
            for b, (low, high) in zip(boxes, spans, strict=True)
            if low >= offset and high <= offset + length
        )

    offsets = sorted({min(max(c, start), start + slack) for c in candidates}, key=lambda o: abs(o - centred))
    best = max(offsets, key=kept)  # max keeps the first of equals: the one nearest the preferred
    window = (
        (best, by0, best + width, by0 + height) if horizontal else (bx0, best, bx0 + width, best + height)
    )
    cut = [
        b for b, (low, high) in zip(boxes, spans, strict=True) if not (low >= best and high <= best + length)
    ]
    return window, cut
