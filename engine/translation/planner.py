"""From a picture and "translate the text into English" to text replacements, or an honest gap.

OCR reads the picture's lines; a line needs translating when it is written in the other script
(Chinese characters when translating into English; Latin words and no Chinese when translating
into Chinese), so prices, codes and text already in the target language stay as they are. For each
such line, in order: the glossary's translation of the whole line; else the model's, when one is
configured; else the glossary phrases inside the line, the rest reported as untranslated. Each
replacement carries the line's box, so the engine looks for it there only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from engine.classic.ocr import TextLine, read_text
from engine.classic.regions import Rect
from engine.parsing.language import instruction_language
from engine.plan import Box, EditPlan, Operation, TextReplace
from engine.translation.glossary import Glossary
from engine.translation.intent import TargetLanguage
from engine.translation.model import model_configured, translate_with_model
from imgedit.config import Settings

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class PhraseTranslation:
    source: str
    target: str
    by: Literal["glossary", "model"]


@dataclass
class TranslationPlan:
    """The replacements to make (``plan`` is ``None`` when there are none) and what was left."""

    target: TargetLanguage
    plan: EditPlan | None
    translated: list[PhraseTranslation] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)
    #: Lines in the other script that OCR found; 0 means there was nothing to translate.
    phrases_found: int = 0


def needs_translation(text: str, target: TargetLanguage) -> bool:
    if target == "en":
        return bool(_CJK.search(text))
    return not _CJK.search(text) and bool(_LATIN_WORD.search(text))


def _box(rect: Rect, width: int, height: int) -> Box:
    """The line's box with a margin of half its height, in fractions, for the engine's text search."""
    area = rect.padded(max(4, rect.height // 2), width, height)
    return Box(x0=area.x0 / width, y0=area.y0 / height, x1=area.x1 / width, y1=area.y1 / height)


def plan_translation(
    image: Image.Image,
    instruction: str,
    target: TargetLanguage,
    glossary: Glossary,
    settings: Settings,
    *,
    lines: list[TextLine] | None = None,
) -> TranslationPlan:
    """What translating ``image``'s text into ``target`` takes, as an ``EditPlan`` of text replacements.

    ``lines`` may pass OCR lines already read; by default the picture is read here.
    """
    width, height = image.size
    if lines is None:
        lines = read_text(np.asarray(image.convert("RGB")))
    foreign = [line for line in lines if needs_translation(line.text, target)]
    whole = {line.text: glossary.lookup(line.text) for line in foreign}
    by_model: dict[str, str] = {}
    if model_configured(settings):
        missing = [text for text, found in whole.items() if found is None]
        if missing:
            by_model = translate_with_model(missing, target, glossary, settings)

    result = TranslationPlan(target=target, plan=None, phrases_found=len(foreign))
    operations: list[Operation] = []
    for line in foreign:
        box = _box(line.rect, width, height)
        approved, machine = whole[line.text], by_model.get(line.text)
        if approved is not None or machine is not None:
            new = approved if approved is not None else machine
            assert new is not None
            operations.append(TextReplace(old=line.text, new=new, box=box, source=instruction))
            result.translated.append(
                PhraseTranslation(line.text, new, "glossary" if approved is not None else "model")
            )
            continue
        parts = glossary.parts_in(line.text)
        for source, translation in parts:
            operations.append(TextReplace(old=source, new=translation, box=box, source=instruction))
            result.translated.append(PhraseTranslation(source, translation, "glossary"))
        rest = glossary.residue(line.text) if parts else line.text
        if needs_translation(rest, target):
            result.untranslated.append(rest)
    if operations:
        result.plan = EditPlan(
            instruction=instruction, operations=operations, language=instruction_language(instruction)
        )
    return result
