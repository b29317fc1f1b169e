"""Which objects an edit named or created, for the entity registry.

A recolour names its target in its new colour ("把红色连衣裙换成蓝色" -> "蓝色连衣裙"); a
generative edit names what it puts in ("换成蓝色长袖衬衫" -> "蓝色长袖衬衫"); a text edit names
the new text. When the edit was about a known entity and the new words do not name a kind of
thing ("换成条纹款"), the entity keeps its kind and takes the new description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.parsing.colors import COLOR_NAMES
from engine.plan import Background, EditPlan, Generative, Recolor, TextAdd, TextReplace
from sessions import EntityInfo
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
    plan: EditPlan, *, target: EntityInfo | None = None, language: str = "en"
) -> list[NamedEntity]:
    """The entities ``plan`` names or creates; ``target`` is the registry entity the edit was
    about, if any."""
    found: list[NamedEntity] = []
    for op in plan.operations:
        if isinstance(op, Recolor) and op.target:
            color = color_word(op.to_color, language)
            name = f"{color}{op.target}" if language == "zh" else f"{color} {op.target}"
            category = category_of(op.target) or (target.category if target else "")
            found.append(NamedEntity(name, category, _updates(target, category)))
        elif isinstance(op, Generative):
            phrase = _result_phrase(op.description or op.source)
            if not phrase:
                continue
            category = category_of(phrase)
            if not category and target:
                # "换成条纹款": a new look for the same thing; keep its kind and head noun.
                nouns = find_nouns(target.name)
                noun = nouns[-1].word if nouns else target.name
                phrase = f"{phrase.removesuffix('款')}{noun}" if language == "zh" else f"{noun} with {phrase}"
                category = target.category
            if category:
                found.append(NamedEntity(phrase, category, _updates(target, category)))
        elif isinstance(op, TextReplace) and op.new:
            words = op.new
            found.append(NamedEntity(f"“{words}”" if language == "zh" else f"'{words}'", "text", None))
        elif isinstance(op, TextAdd) and op.text:
            # A new badge is a thing put on the picture ("remove that badge" must find it).
            words = op.text
            name = f"“{words}”标签" if language == "zh" else f'"{words}" {op.style}'
            found.append(NamedEntity(name, BADGE_CATEGORY, None))
        elif isinstance(op, Background) and (op.color or op.description):
            what = op.description or color_word(op.color or "", language)
            name = f"{what}背景" if language == "zh" else f"{what} background"
            found.append(NamedEntity(name, "background", _updates(target, "background")))
    return found


def _updates(target: EntityInfo | None, category: str) -> str | None:
    """The target's id when the new entity is the same thing (same kind or a kind of it)."""
    if not target or not category:
        return None
    old = target.category
    if old and (category == old or category.startswith(old + "/") or old.startswith(category + "/")):
        return target.id
    return None
