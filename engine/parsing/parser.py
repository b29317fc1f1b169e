"""The rule-based bilingual parser.

Foundation version: recognises global adjustments and treats any other concrete instruction
as a generative edit (which only the qwen engine can execute). The classic-engine issue
extends this with text, colour, removal, badge, theme and geometry operations.
"""

from __future__ import annotations

import re

from engine.parsing.adjust import parse_adjust
from engine.parsing.options import ParseOptions
from engine.plan import EditPlan, Generative, Operation
from imgedit.config import Settings
from imgedit.errors import BadInputError

MAX_INSTRUCTION_CHARS = 2000
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    has_cjk, has_latin = bool(_CJK.search(text)), bool(_LATIN.search(text))
    if has_cjk and has_latin:
        return "mixed"
    return "zh" if has_cjk else "en"


def parse_instruction(
    text: str, *, options: ParseOptions | None = None, settings: Settings | None = None
) -> EditPlan:
    """Parse ``text`` into an ``EditPlan``; raise ``BadInputError`` for unusable instructions."""
    instruction = (text or "").strip()
    if not instruction:
        raise BadInputError("The instruction is empty; say what to change, e.g. 'make it brighter'.")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise BadInputError(
            f"The instruction is {len(instruction)} characters; the limit is {MAX_INSTRUCTION_CHARS}."
        )
    operations: list[Operation] = []
    adjust = parse_adjust(instruction)
    if adjust is not None:
        operations.append(adjust)
    else:
        operations.append(Generative(description=instruction, source=instruction))
    return EditPlan(instruction=instruction, operations=operations, language=detect_language(instruction))
