"""Splitting a compound instruction into clauses: "去掉水印，并把背景换成白色", "crop to square and
then make it brighter".

"+" and "＋" always separate ("换成夏季短裤 + 添加'新品上市'标签"): every clause must be read, or
the edit refused naming it, never silently dropped. "并", "再", "和" and "、" separate when an
edit follows them. Separators inside quotes never split ("add a 'Salt and Pepper' label"), and
fixed phrases that contain a separator word stay whole ("black and white", "黑白").
"""

from __future__ import annotations

import re

from engine.parsing.quotes import find_quotes

# What a clause starts with when "并", "再", "和" or "、" joins two edits ("裁剪成正方形再提亮",
# "去掉水印和加一个标签") rather than two nouns ("红色和蓝色", "水印、文字").
_VERB_START = r"[把将给加添去删移调提增降换改让使旋转翻裁剪缩放变在用做弄抠擦补填拉写贴打]"

# What "并", "再", "和" and "、" follow when they join two edits: a Chinese word, or the end of a
# ratio, a size or a quote ("裁剪成16:9并提亮", "把'SALE'换成'NEW'并把背景换成白色").
_JOIN_PREV = r"[\u3400-\u9fff0-9A-Za-z%'’”」』)）]"
# "并" between two edits almost never joins nouns, so any word may follow it ("缩小一半并水平翻转",
# "提亮一点并美化一下": the vague clause is then read, and refused, instead of being dropped).
_JOIN_NEXT = r"[\u3400-\u9fff]"

# Separators that end one clause and start the next. Order does not matter: all are found at
# once and the earliest, longest one wins where they overlap.
_SEPARATOR = re.compile(
    r"\s*(?:"
    r"[，,]\s*(?:并且|并|然后|再|接着|之后|同时|而且|另外|还要|还有)"
    r"|[；;]|。(?=.)"
    r"|[+＋]"
    r"|并且|然后|接着|同时|(?<![合兼吞])并(?![排列肩])(?=" + _JOIN_NEXT + ")"
    r"|(?<=" + _JOIN_PREV + ")(?:再|和|、)(?=" + _VERB_START + ")"
    r"|(?:,\s*)?\band\s+then\b|(?:,\s*)?\bthen\b|(?:,\s*)?\band\s+also\b|(?:,\s*)?\balso\b"
    r"|(?:,\s*)?\band\b|\bplus\b|[，,]"
    r")\s*",
    re.IGNORECASE,
)

# Phrases whose own "and" (or comma) is not a separator.
_PROTECTED = re.compile(
    r"black\s*(?:and|&)\s*white|rock\s+and\s+roll|salt\s+and\s+pepper|\d+\s*,\s*\d+", re.IGNORECASE
)

# Words that mean nothing on their own once split off: "please, make it brighter".
_FILLER = re.compile(r"(?i)^(?:please|pls|ok(?:ay)?|and|then|also|thanks|thank you|请|麻烦|帮我|谢谢|好的)?$")


def split_clauses(text: str) -> list[str]:
    """The clauses of ``text``, in order, without separators and empty or filler pieces."""
    shielded = [(quote.start, quote.end) for quote in find_quotes(text)]
    shielded += [(match.start(), match.end()) for match in _PROTECTED.finditer(text)]

    def inside_shield(start: int, end: int) -> bool:
        return any(start < s_end and end > s_start for s_start, s_end in shielded)

    clauses, last = [], 0
    for match in _SEPARATOR.finditer(text):
        if inside_shield(match.start(), match.end()):
            continue
        clauses.append(text[last : match.start()])
        last = match.end()
    clauses.append(text[last:])
    cleaned = [clause.strip(" \t\n。.!！?？、") for clause in clauses]
    return _share_verbs([clause for clause in cleaned if clause and not _FILLER.match(clause)])


# A removal of several things in one verb: "去掉水印、logo和价签".
_ZH_REMOVE_LIST = re.compile(r"^(?P<verb>去掉|去除|删除|删掉|移除|擦掉|抹掉|清除|拿掉)(?P<things>.+)$")
_ZH_LIST_SEPARATOR = re.compile(r"[、和]")
# A clause that is only the object of the verb before it: "remove the watermark, the logo".
_EN_OBJECT_ONLY = re.compile(r"(?i)^(?:the|a|an|any|its|all)\b")
_EN_SHARED_VERB = re.compile(
    r"(?i)^(?:please\s+)?(?P<verb>remove|erase|delete|get\s+rid\s+of|make|turn|change|add|put)\b"
)


def _share_verbs(clauses: list[str]) -> list[str]:
    """Clauses that share one verb, each with the verb written out: "去掉水印、logo和价签" is three
    removals, "remove the watermark, the logo and the price tag" too, and "make the background
    white and the mug blue" two edits. Without this the later things were swallowed by the first
    clause's rule or refused as "no edit", though the user plainly asked for them."""
    shared: list[str] = []
    verb = ""
    for clause in clauses:
        zh = _ZH_REMOVE_LIST.match(clause)
        if zh and not find_quotes(clause) and _ZH_LIST_SEPARATOR.search(zh.group("things")):
            things = [t.strip() for t in _ZH_LIST_SEPARATOR.split(zh.group("things")) if t.strip()]
            shared.extend(zh.group("verb") + thing for thing in things)
            verb = ""
            continue
        if verb and _EN_OBJECT_ONLY.match(clause):
            shared.append(f"{verb} {clause}")
            continue
        en = _EN_SHARED_VERB.match(clause)
        verb = en.group("verb") if en else ""
        shared.append(clause)
    return shared
