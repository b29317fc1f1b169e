"""Grounding: where the plan says a generative edit is, as pixel boxes for preservation.

A generative model is told what to change, not where; preservation then has to find the change
in the output. Where the plan knows the place, detection can be more sensitive there and fill
the region solidly (engine/preserve/detect.py): the OCR box of the text a text edit names (read
from the input with the classic engine's OCR and fuzzy matcher, the same ones its own text
edits use), and an operation's box (an entity's box in a session, or one the planner gave).
Named places ("top left") are a third of the picture: too coarse to ground anything.

When every operation names its box, the boxes also *bound* the edit: "replace that dress with a
shirt" is about the dress, so whatever else the model repainted (another object, a face) is
drift and the input's pixels stay there. The bounds are the boxes grown by ``BOUND_MARGIN`` of
their own size: the new thing may be a little larger than the old one (a long-sleeved shirt
for a dress), and the seam needs room. A text edit's OCR box does not bound it (the new text's
length is the model's to choose); a planner's box with its text does.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.classic.ocr import TextLine, read_text
from engine.classic.regions import Rect, box_rect, op_rect
from engine.classic.textmatch import find_prices, find_text
from engine.plan import GEOMETRY_KINDS, EditPlan, TextRemove, TextReplace
from engine.types import Grounding

#: An operation's box bounds a generative edit grown by this share of its longer side on each
#: side, and by at least ``BOUND_MIN_PX`` pixels (the seam's ramp and the model's soft edge).
BOUND_MARGIN = 0.15
BOUND_MIN_PX = 8


def _text_boxes(lines: list[TextLine], op: TextReplace | TextRemove, region: Rect | None) -> list[Rect]:
    if isinstance(op, TextReplace):
        matches = find_prices(lines) if op.price else find_text(lines, op.old)
        rects = [match.rect for match in matches]
    elif op.text and op.text.strip():
        rects = [match.rect for match in find_text(lines, op.text)]
    else:
        rects = [line.rect for line in lines]
    if region is None:
        return rects
    return [r for r in rects if region.holds_centre_of(r)]


def text_box(rect: Rect, width: int, height: int) -> Rect:
    """The box preservation grounds a text edit in: the OCR box grown by half its height on every
    side, since the new text may be a little longer or taller than the old one, and its
    antialiased edges and shadow belong to it."""
    return rect.padded(max(2, rect.height // 2), width, height)


def bound_box(rect: Rect, width: int, height: int) -> Rect:
    """The region an operation's box confines a generative edit to: the box grown by
    ``BOUND_MARGIN`` of its longer side (a replacement may be a little larger than what it
    replaces), clipped to the image."""
    return rect.padded(max(BOUND_MIN_PX, round(BOUND_MARGIN * max(rect.width, rect.height))), width, height)


def plan_grounding(image: Image.Image, plan: EditPlan) -> Grounding:
    """Where ``plan``'s edits are expected in ``image``: boxes to look in (possibly none), and the
    bounds of the edit when every operation names its box."""
    width, height = image.size
    boxes: list[Rect] = []
    lines: list[TextLine] | None = None
    operations = [op for op in plan.operations if op.op not in GEOMETRY_KINDS]
    for op in operations:
        region = op_rect(op.box, op.place, width, height)
        if isinstance(op, TextReplace | TextRemove):
            if lines is None:
                lines = read_text(np.asarray(image.convert("RGB")))
            found = _text_boxes(lines, op, region)
            boxes.extend(text_box(rect, width, height) for rect in found)
            if found:
                continue
        if op.box is not None:
            boxes.append(box_rect(op.box, width, height))
    bounds: tuple[Rect, ...] = ()
    if operations and all(op.box is not None for op in operations):
        bounds = tuple(
            bound_box(box_rect(op.box, width, height), width, height) for op in operations if op.box
        )
    return Grounding(boxes=tuple(boxes), bounds=bounds)
