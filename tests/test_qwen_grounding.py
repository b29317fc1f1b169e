"""The qwen backend's grounding for preservation: where the plan says the edit is, found on the
input (OCR of the old text) and handed to the editor with the output. Runs the real backend on
the tiny random pipeline (tests/qwen_tiny.py, CPU); preservation itself is tests/test_preserve.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.classic.regions import box_rect
from engine.plan import Box, EditPlan, Generative, TextReplace
from engine.preserve.grounding import bound_box
from engine.qwen import QwenEngine
from engine.types import EditRequest, Grounding
from tests.conftest import TINY_AREA
from tests.test_preserve import NEW_TEXT, OLD_TEXT, text_edit


def test_qwen_backend_grounds_a_text_edit_in_the_ocr_box(
    tiny_model: Path, small_pipeline_inputs: None
) -> None:
    edit = text_edit(40)
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)
    plan = EditPlan(instruction="x", operations=[TextReplace(old=OLD_TEXT, new=NEW_TEXT)])
    output = engine.run(EditRequest(images=[edit.original], instruction="x", seed=0), plan)
    (box,) = output.grounding.boxes
    ys, xs = np.nonzero(edit.truth)
    assert box.x0 <= xs.min() and box.y0 <= ys.min() and box.x1 > xs.max() and box.y1 > ys.max()
    assert box.area < 0.15 * edit.original.width * edit.original.height
    assert "grounding" in output.timings


def test_a_generative_edit_with_no_place_is_not_grounded(
    tiny_model: Path, small_pipeline_inputs: None
) -> None:
    """Nothing to ground in: preservation then finds the change from the output alone."""
    edit = text_edit(16)
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)
    plan = EditPlan(instruction="x", operations=[Generative(description="give her a red dress")])
    output = engine.run(EditRequest(images=[edit.original], instruction="x", seed=0), plan)
    assert output.grounding == Grounding()


def test_a_generative_edit_of_a_boxed_entity_is_bounded_by_its_grown_box(
    tiny_model: Path, small_pipeline_inputs: None
) -> None:
    """The session puts a known entity's box on the operation; the backend hands preservation
    that box to look in and, grown, as the bounds of the edit."""
    edit = text_edit(16)
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)
    box = Box(x0=0.5, y0=0.5, x1=0.75, y1=0.9)
    plan = EditPlan(instruction="x", operations=[Generative(description="a blue shirt", box=box)])
    output = engine.run(EditRequest(images=[edit.original], instruction="x", seed=0), plan)
    rect = box_rect(box, *edit.original.size)
    assert output.grounding == Grounding(boxes=(rect,), bounds=(bound_box(rect, *edit.original.size),))
