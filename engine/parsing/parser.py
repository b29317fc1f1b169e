"""The rule-based bilingual parser: from an instruction to a typed ``EditPlan``.

The instruction is checked (empty, too long, no words), split into clauses ("…，并…",
"… and …", "；"), and each clause goes through the rules below in order; the first that
recognises it gives its operations. Order matters: geometry reads words that look like places
("向左旋转"), quoted text must win over colour words ("把'红色'换成'蓝色'"), a theme over
colours ("black and white"), and a background change over a recolour ("把背景换成白色").

A clause no rule recognises is vague ("make it better": a ``NeedsClarificationError`` with
suggestions), a concrete edit only a generative model can make ("换成蓝色长袖衬衫":
``Generative``, which the classic engine refuses by name), or not an edit at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from engine.parsing.adjust import parse_adjust
from engine.parsing.clause import Clause, IncompleteEdit
from engine.parsing.clauses import split_clauses
from engine.parsing.geometry import parse_crop, parse_flip, parse_pad, parse_resize, parse_rotate
from engine.parsing.language import detect_language, instruction_language, reply_language
from engine.parsing.marketplace import purpose_operations, take_purpose
from engine.parsing.objects import parse_background, parse_recolor, parse_remove
from engine.parsing.options import ParseOptions
from engine.parsing.styles import parse_theme
from engine.parsing.text import parse_text
from engine.parsing.vague import is_vague, needs_clarification
from engine.plan import Background, EditPlan, Generative, Operation
from engine.themes import ThemeSpec, list_themes, user_themes_dir
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, NeedsClarificationError

__all__ = [
    "MAX_INSTRUCTION_CHARS",
    "detect_language",
    "parse_clause",
    "parse_instruction",
    "validate_instruction",
]

MAX_INSTRUCTION_CHARS = 2000

# Words that make an unrecognised clause an edit request (and so a generative edit).
_EDIT_VERB = re.compile(
    r"(?i)\b(?:add|put|place|insert|make|change|replace|turn|give|remove|erase|delete|hang|draw|paint|swap"
    r"|convert|transform|let|dress|wear|move|show|create|generate|restyle|fill|cover|open|close|extend|expand"
    r"|outpaint|recolou?r|colou?r|set|use|switch|decorate|relight|hold|sit|stand|smile|age)\b"
    r"|加|添|放|换|改|变|让|使|给|挂|画|穿|戴|去|删|移|摆|生成|替换|做|弄|贴|写|填|扩|把|将|拿|笑|站|坐|举|抱|装|布置"
)


def validate_instruction(text: str | None) -> str:
    """The instruction stripped, or a ``BadInputError`` saying why it cannot be used."""
    instruction = (text or "").strip()
    if not instruction:
        raise BadInputError(
            "The instruction is empty; say what to change, e.g. 'make it brighter' or '提亮一点'."
        )
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise BadInputError(
            f"The instruction is {len(instruction)} characters long; the limit is {MAX_INSTRUCTION_CHARS}.",
            hint="Shorten it to the edits you want, e.g. 'remove the watermark and make it brighter'.",
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in instruction):
        raise BadInputError(
            "The instruction has no words, only emoji, symbols or punctuation; say what to change in words, "
            "e.g. 'make it brighter' or '把背景换成白色'."
        )
    return instruction


_ClauseRule = Callable[[Clause], Sequence[Operation] | None]


def _rules(themes: list[ThemeSpec]) -> list[_ClauseRule]:
    """The clause rules, in the order they are tried."""

    def theme(clause: Clause) -> Sequence[Operation] | None:
        return parse_theme(clause, themes)

    def adjust(clause: Clause) -> Sequence[Operation] | None:
        found = parse_adjust(clause.masked)
        return [found.model_copy(update={"source": clause.source})] if found else None

    return [
        parse_text,
        parse_flip,
        parse_rotate,
        parse_pad,
        parse_crop,
        parse_resize,
        theme,
        parse_background,
        parse_recolor,
        parse_remove,
        adjust,
    ]


def parse_clause(
    clause_text: str, themes: list[ThemeSpec], *, instruction: str | None = None
) -> list[Operation]:
    """The operations one clause asks for; raises ``NeedsClarificationError`` when it names none."""
    clause = Clause.from_text(clause_text)
    whole = instruction or clause_text
    language = reply_language(whole)
    try:
        for rule in _rules(themes):
            operations = rule(clause)
            if operations:
                return list(operations)
    except IncompleteEdit as exc:
        zh = language == "zh"
        raise NeedsClarificationError(
            exc.message_zh if zh else exc.message_en, suggestions=exc.examples_zh if zh else exc.examples_en
        ) from None
    if is_vague(clause.masked):
        vague = None
        if clause_text != whole:  # one vague part of a compound instruction: name that part
            vague = (
                f"“{clause_text}”太笼统了，请说明具体要改什么；整条指令都没有执行。"
                if language == "zh"
                else f"'{clause_text}' is too vague to act on; say what to change. None of the "
                "instruction was applied."
            )
        raise needs_clarification(whole, language, themes, what=vague)
    if _EDIT_VERB.search(clause.masked):
        return [Generative(description=clause.source, source=clause.source)]
    what = (
        f"“{clause_text}”里没有找到要做的修改。"
        if language == "zh"
        else f"No edit found in '{clause_text}'; say what to change."
    )
    raise needs_clarification(whole, language, themes, what=what)


def _merge_backgrounds(operations: list[Operation]) -> list[Operation]:
    """One background change per plan: "去掉背景，做成透明背景" says the same thing twice, the
    second clause more precisely, so the last one wins and keeps both clauses as its source."""
    backgrounds = [op for op in operations if isinstance(op, Background)]
    if len(backgrounds) < 2:
        return operations
    last = backgrounds[-1]
    source = "，".join(op.source for op in backgrounds if op.source)
    merged = last.model_copy(update={"source": source})
    kept: list[Operation] = []
    for op in operations:
        if op is last:
            kept.append(merged)
        elif not isinstance(op, Background):
            kept.append(op)
    return kept


def parse_with_rules(instruction: str, themes: list[ThemeSpec]) -> EditPlan:
    """The plan for an already validated instruction, by the rules alone.

    Every clause yields operations or an error naming it: nothing the user wrote is skipped. A
    purpose ("用于淘宝主图") is taken out first and fills in what the clauses left open.
    """
    market, rest = take_purpose(instruction)
    clauses = split_clauses(rest) if rest else []
    if not clauses and market is None:
        raise needs_clarification(instruction, reply_language(instruction), themes)
    operations: list[Operation] = []
    for clause in clauses:
        operations.extend(parse_clause(clause, themes, instruction=instruction))
    operations = _merge_backgrounds(operations)
    if market is not None:
        phrase = instruction if not rest else instruction.replace(rest, "").strip(" ，,；;。.") or market.name
        operations.extend(purpose_operations(market, operations, phrase))
    return EditPlan(
        instruction=instruction,
        operations=operations,
        language=instruction_language(instruction),
        purpose=market.name if market else None,
    )


def parse_instruction(
    text: str, *, options: ParseOptions | None = None, settings: Settings | None = None
) -> EditPlan:
    """Parse ``text`` into an ``EditPlan``.

    Raises ``BadInputError`` for unusable input (empty, over 2,000 characters, no words) and
    ``NeedsClarificationError`` for vague or incomplete instructions. With ``IMGEDIT_LLM=openai``
    a language model parses first; whenever it fails, the rules answer instead.
    """
    settings = settings or get_settings()
    instruction = validate_instruction(text)
    themes = list_themes(user_themes_dir(settings))
    if settings.llm == "openai":
        from engine.parsing.llm import parse_with_llm

        plan = parse_with_llm(instruction, themes, options=options or ParseOptions(), settings=settings)
        if plan is not None:
            return plan
    return parse_with_rules(instruction, themes)
