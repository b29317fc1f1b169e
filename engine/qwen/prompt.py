"""The text the qwen model is given for a plan.

Qwen-Image-Edit-2509 is prompted with the user's own instruction (it was trained on such
instructions, in Chinese and English); the pipeline itself puts "Picture 1: <image>",
"Picture 2: <image>"… before it. Two things are ours: a theme is described by its template's
prompt rather than by its name, and with several images the usual ways of naming them ("the
second image", "图2", "第二张图") become the "Picture N" the model was trained to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.plan import GEOMETRY_KINDS, EditPlan, Theme
from engine.types import EditRequest

_ORDINALS = {"first": 1, "second": 2, "third": 3, "1st": 1, "2nd": 2, "3rd": 3}
_CHINESE_NUMBERS = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3}

_ENGLISH_REFERENCE = re.compile(
    r"\b(?:the\s+)?(first|second|third|1st|2nd|3rd)\s+(?:image|picture|photo)\b", re.IGNORECASE
)
_ENGLISH_NUMBERED = re.compile(r"\b(?:image|picture|photo|img)\s*#?\s*([123])\b", re.IGNORECASE)
_CHINESE_REFERENCE = re.compile(r"第([一二三123])张(?:图片|图|照片)?|(?:图片|图|照片)([一二三123])")


@dataclass(frozen=True)
class Prompt:
    text: str
    negative: str


def build_prompt(request: EditRequest, plan: EditPlan) -> Prompt:
    """The positive and negative prompt for ``request`` as planned."""
    text = request.instruction.strip()
    if plan.changes_geometry:
        # Crops, rotations… are done exactly afterwards; the model gets only the other parts.
        sources = [op.source for op in plan.operations if op.op not in GEOMETRY_KINDS and op.source]
        text = " ".join(dict.fromkeys(sources)) or text
    negative = request.negative_prompt
    themes = [op for op in plan.operations if isinstance(op, Theme)]
    if themes:
        from engine.themes import get_theme

        theme = get_theme(themes[0].name)
        others = [op for op in plan.operations if not isinstance(op, Theme)]
        text = f"{theme.prompt} Also: {text}" if others else theme.prompt
        if not negative.strip() and theme.negative_prompt:
            negative = theme.negative_prompt
    if len(request.images) > 1:
        text = name_pictures(text)
    # True CFG runs only with a negative prompt; " " is what the official examples pass.
    return Prompt(text=text, negative=negative if negative else " ")


def name_pictures(text: str) -> str:
    """Rewrite "the second image" / "image 2" / "图2" / "第二张图" as "Picture 2"."""
    text = _ENGLISH_REFERENCE.sub(lambda m: f"Picture {_ORDINALS[m.group(1).lower()]}", text)
    text = _ENGLISH_NUMBERED.sub(lambda m: f"Picture {m.group(1)}", text)
    return _CHINESE_REFERENCE.sub(lambda m: f"Picture {_CHINESE_NUMBERS[m.group(1) or m.group(2)]}", text)
