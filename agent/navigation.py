"""A turn's actions, in the order the user said them: navigation (undo, redo, go to a version,
switch image) mixed with requests (edits, history, describe, compare, themes).

"撤销并把背景换成浅灰色" is an undo then an edit; "回到原图，然后加一个'SALE'标签" a revert then an
edit; "上一张" a switch of image; "go back two steps" two undos. Navigation words are the agent's
business, so this module finds them; the clauses between them are handed on as the user wrote
them, and consecutive edit clauses stay together so the engine's parser splits them into the
operations of one edit, as it does for a turn without navigation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.intents import EDIT_VERB, detect_intent
from agent.references import IMAGE_PATTERNS, REFERENCE_PATTERNS, VERSION_PATTERNS
from engine.parsing.clauses import split_clauses

_ZH_COUNT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_COUNT = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "twice": 2, "thrice": 3}
#: Undo several steps: "go back two steps", "undo twice", "回退两步", "撤销3次".
_UNDO_COUNT = re.compile(
    r"\b(?:go|step)\s+back\s+(?P<en>\d+|one|two|three|four|five)\s+steps?\b"
    r"|\bundo\s+(?:(?P<times>\d+|one|two|three|four|five)\s+times|(?P<once>twice|thrice))\b"
    r"|(?:回退|后退|退回|倒退|撤销|撤回)了?\s*(?P<zh>\d+|[一二两三四五六七八九十])\s*(?:步|次)",
    re.IGNORECASE,
)
#: At most this many undos in one phrase; more is a typing slip, not a request.
MAX_UNDO_STEPS = 10
#: Words that only move towards an image or version ("回到", "switch to"): what remains of a
#: clause once these and the references are removed says whether it asks for more.
_NAV_FILLER = re.compile(
    r"\b(?:please|ok(?:ay)?|let'?s|now|go|going|get|switch|switched|move|jump|take\s+me|back|to|the|"
    r"work\s+on|on|use|show\s+me|open|select|version|image|photo|picture)\b"
    r"|请|麻烦|帮我|现在|回到|回去|退回到?|恢复到?|还原到?|切换到?|换到|转到|跳到|去|到|看看?|打开|用|选|的|吧|一下|那个|这个",
    re.IGNORECASE,
)
#: A navigation phrase glued to the next clause by a connective without punctuation
#: ("回到原图再把…", "撤销并把…"), split where the next clause starts with a verb.
_GLUED = re.compile(
    r"(?:再|并且|并|然后|接着|之后)(?=[把将给加去删移调提增降换改让使旋转翻裁剪缩放变在用套])"
)
_CONNECTIVE = re.compile(r"^(?:(?:and\s+)?then|and|also|再|并且|并|然后|接着|之后)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class TurnStep:
    """One action of a turn. ``kind``: "undo" (``count`` times), "redo", "version" (go to the
    version the words name), "image" (switch to the image they name) or "request" (anything
    else: edits, history, describe, compare, themes, questions)."""

    text: str
    kind: str
    count: int = 1

    def to_state(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind, "count": self.count}

    @classmethod
    def from_state(cls, data: dict[str, object]) -> TurnStep:
        return cls(str(data["text"]), str(data["kind"]), int(str(data.get("count", 1))))


def _count(match: re.Match[str]) -> int:
    groups = ("en", "times", "once", "zh")
    raw = next((match.group(g) for g in groups if match.group(g)), "1").lower()
    number = int(raw) if raw.isdigit() else _EN_COUNT.get(raw) or _ZH_COUNT.get(raw, 1)
    return max(1, min(number, MAX_UNDO_STEPS))


def _only_references(clause: str) -> bool:
    """True when the clause is nothing but image or version words and words that move to them."""
    rest = clause
    for pattern in REFERENCE_PATTERNS:
        rest = pattern.sub(" ", rest)
    rest = _NAV_FILLER.sub(" ", rest)
    return not re.sub(r"[\W_]+", "", rest)


def classify(clause: str, theme_words: dict[str, str]) -> TurnStep:
    """What one clause asks for (see ``TurnStep``)."""
    counted = _UNDO_COUNT.search(clause)
    if counted and not EDIT_VERB.search(clause.replace(counted.group(0), "")):
        return TurnStep(clause, "undo", _count(counted))
    intent = detect_intent(clause, theme_words)
    if intent.kind in ("undo", "redo"):
        return TurnStep(clause, intent.kind)
    if intent.kind in ("revert", "edit") and not EDIT_VERB.search(clause) and _only_references(clause):
        has_version = any(p.search(clause) for p in VERSION_PATTERNS)
        if has_version:
            return TurnStep(clause, "version")
        if any(p.search(clause) for p in IMAGE_PATTERNS):
            return TurnStep(clause, "image")
    return TurnStep(clause, "request")


def _pieces(text: str) -> list[tuple[int, int]]:
    """Spans of the turn's clauses (the engine's clause splitter, located in the text)."""
    spans: list[tuple[int, int]] = []
    at = 0
    for clause in split_clauses(text):
        start = text.find(clause, at)
        if start < 0:
            continue
        spans.append((start, start + len(clause)))
        at = start + len(clause)
    return spans


def split_turn(text: str, theme_words: dict[str, str]) -> list[TurnStep]:
    """The turn's steps in order. A turn without navigation is one request with the whole text."""
    steps: list[tuple[TurnStep, tuple[int, int]]] = []
    for start, end in _pieces(text):
        clause = text[start:end]
        glued = _GLUED.search(clause)
        if glued and classify(clause[: glued.start()], theme_words).kind != "request":
            head = classify(clause[: glued.start()], theme_words)
            steps.append((head, (start, start + glued.start())))
            start += glued.end()
            clause = text[start:end]
        steps.append((classify(clause, theme_words), (start, end)))
    if not steps or all(step.kind == "request" for step, _ in steps):
        return [TurnStep(text, "request")]
    merged: list[tuple[TurnStep, tuple[int, int]]] = []
    for step, span in steps:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and step.kind == previous[0].kind == "request"
            and _is_edit(previous[0].text, theme_words)
            and _is_edit(step.text, theme_words)
        ):
            whole = (previous[1][0], span[1])
            merged[-1] = (TurnStep(text[whole[0] : whole[1]], "request"), whole)
        else:
            merged.append((step, span))
    return [TurnStep(_CONNECTIVE.sub("", step.text).strip(), step.kind, step.count) for step, _ in merged]


def _is_edit(clause: str, theme_words: dict[str, str]) -> bool:
    return detect_intent(clause, theme_words).kind == "edit"
