"""Which objects an edit named or created, for the entity registry.

A recolour names its target in its new colour ("把红色连衣裙换成蓝色" -> "蓝色连衣裙"); a
generative edit names what it puts in ("换成蓝色长袖衬衫" -> "蓝色长袖衬衫"); a text edit names
the new text. When the edit was about a known entity and the new words do not name a kind of
thing ("换成条纹款"), the entity keeps its kind and takes the new description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.parsing.colors import COLOR_NAMES
from tools.lexicon import category_of, find_nouns


def _chinese_color_names() -> dict[str, str]:
    """Canonical colour name -> its first Chinese name ending in 色 ("blue" -> "蓝色"), read from
    the parser's one colour table so an entity's name uses the parser's words."""
    names: dict[str, str] = {}
    for word, canonical in COLOR_NAMES.items():
        if word.endswith("色"):
            names.setdefault(canonical, word)
    return names


_ZH_COLORS = _chinese_color_names()
#: The registry category of badges and labels an edit added (the lexicon's word for them).
BADGE_CATEGORY = "graphic/badge"
#: Words asking to take a thing away ("去掉", "remove"): with a known entity that has a box, the
#: edit becomes a ``Remove`` of that box.
REMOVAL_WORDS = re.compile(
    r"去掉|删掉|删除|移除|拿掉|去除|除掉|清除|抹掉|\bremove\b|\bdelete\b|\berase\b|\bget rid of\b"
    r"|\btake\s+(?:off|away|out)\b",
    re.IGNORECASE,
)
_ZH_RESULT = re.compile(r"(?:换成|改成|变成|改为|换为|变为|替换成|替换为)(?P<what>[^，。,.!！？?]+)")
_ZH_ADD = re.compile(r"(?:加上|添加|加个|加一[个件顶只]|放上|放一[个件顶只])(?P<what>[^，。,.!！？?]+)")
_EN_RESULT = re.compile(r"\b(?:to|into|with)\s+(?:an?\s+|the\s+)?(?P<what>[^,.;!?]+)", re.IGNORECASE)
_EN_ADD = re.compile(
    r"\badd\s+(?:an?\s+|the\s+)?(?P<what>[^,.;!?]+?)(?:\s+(?:to|on|at)\b.*)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class NamedEntity:
    """An object an edit named: its words, its category, and the registry entry it updates."""

    name: str
    category: str
    updates: str | None = None  # entity id, when the edit was about a known entity


def color_word(color: str, language: str) -> str:
    """A canonical colour name in ``language`` ("blue" -> "蓝色" in Chinese)."""
    if language == "zh":
        return _ZH_COLORS.get(COLOR_NAMES.get(color.casefold(), ""), color)
    return color


def _result_phrase(text: str) -> str | None:
    for pattern in (_ZH_RESULT, _ZH_ADD, _EN_RESULT, _EN_ADD):
        match = pattern.search(text)
        if match:
            return match.group("what").strip().strip("'\"“”‘’「」")
    return None


def extract_entities(
    plan: dict[str, Any], *, target: dict[str, Any] | None = None, language: str = "en"
) -> list[NamedEntity]:
    """The entities a plan (``EditPlan.model_dump()``) names or creates.

    ``target`` is the registry entity the edit was about (``{"id", "name", "category"}``), if any.
    """
    found: list[NamedEntity] = []
    for op in plan.get("operations", []):
        kind = op.get("op")
        if kind == "recolor" and op.get("target"):
            noun = op["target"]
            color = color_word(op["to_color"], language)
            name = f"{color}{noun}" if language == "zh" else f"{color} {noun}"
            category = category_of(noun) or (target or {}).get("category", "")
            found.append(NamedEntity(name, category, _updates(target, category)))
        elif kind == "generative":
            phrase = _result_phrase(op.get("description") or op.get("source") or "")
            if not phrase:
                continue
            category = category_of(phrase)
            if not category and target:
                # "换成条纹款": a new look for the same thing; keep its kind and head noun.
                nouns = find_nouns(target.get("name", ""))
                noun = nouns[-1].word if nouns else target.get("name", "")
                phrase = f"{phrase.removesuffix('款')}{noun}" if language == "zh" else f"{noun} with {phrase}"
                category = target.get("category", "")
            if category:
                found.append(NamedEntity(phrase, category, _updates(target, category)))
        elif kind == "text_replace" and op.get("new"):
            words = op["new"]
            found.append(NamedEntity(f"“{words}”" if language == "zh" else f"'{words}'", "text", None))
        elif kind == "text_add" and op.get("text"):
            # A new badge is a thing put on the picture ("remove that badge" must find it).
            noun = op.get("style") or "badge"
            words = op["text"]
            name = f"“{words}”标签" if language == "zh" else f'"{words}" {noun}'
            found.append(NamedEntity(name, BADGE_CATEGORY, None))
        elif kind == "background" and (op.get("color") or op.get("description")):
            what = op.get("description") or color_word(op["color"], language)
            name = f"{what}背景" if language == "zh" else f"{what} background"
            found.append(NamedEntity(name, "background", _updates(target, "background")))
    return found


def _updates(target: dict[str, Any] | None, category: str) -> str | None:
    """The target's id when the new entity is the same thing (same kind or a kind of it)."""
    if not target or not category:
        return None
    old = target.get("category", "")
    if old and (category == old or category.startswith(old + "/") or old.startswith(category + "/")):
        return str(target["id"])
    return None
