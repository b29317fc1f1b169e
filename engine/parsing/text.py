"""Text edits: replace, remove and add quoted text, and remove watermarks or captions.

Quoted spans are the text itself, in any quote style; the words around them say what to do
("把'A'换成'B'", "remove the text 'SAMPLE'", "add a 'NEW' badge in the top right").
"""

from __future__ import annotations

import re
from typing import Literal

from engine.parsing.clause import Clause, IncompleteEdit
from engine.parsing.colors import canonical_color, find_color
from engine.parsing.quotes import PLACEHOLDER
from engine.plan import TextAdd, TextRemove, TextReplace

REMOVE_VERB = re.compile(
    r"(?i)去掉|去除|删除|删掉|删去|移除|擦掉|擦除|抹掉|抹去|清除|拿掉|消除|抠掉"
    r"|\bremove[ds]?\b|\berase[ds]?\b|\bdelete[ds]?\b|\bget\s+rid\s+of\b|\btake\s+(?:out|away|off)\b"
    r"|\bclear\b|\bwipe\b|\bclean\s+(?:off|out|up)\b|\beliminate\b"
)
_REPLACE_VERB = re.compile(
    r"(?i)换成|改成|替换成|替换为|改为|换为|变成|变为|改写成|写成|换|改"
    r"|\breplace[ds]?\b|\bchange[ds]?\b|\bswap\b|\bturn\b|\bedit\b|\brewrite\b|\bupdate\b|→|->|=>|\bto\b|\binto\b"
)
_ADD_VERB = re.compile(
    r"(?i)加|添|写|打上|贴|放|插入|标上|标注"
    r"|\badd\b|\bput\b|\binsert\b|\bplace\b|\bwrite\b|\bstamp\b|\boverlay\b|\binclude\b"
)
_WATERMARK = re.compile(r"(?i)水印|\bwatermarks?\b")
_TEXT_WORD = re.compile(
    r"(?i)文字|文本|字样|字幕|标题|说明文字|字"
    r"|\btext\b|\bcaptions?\b|\btitles?\b|\bwords?\b|\blettering\b|\bsubtitles?\b|\bheadlines?\b"
)
_BADGE = re.compile(
    r"(?i)标签|角标|徽章|贴纸|标贴|吊牌|\bbadges?\b|\bstickers?\b|\btags?\b|\bstamps?\b|\bribbons?\b"
)
_LABEL = re.compile(
    r"(?i)文字|文本|字样|标题|字幕|字|\btext\b|\blabels?\b|\bcaptions?\b|\btitles?\b|\bwords?\b|\bheadlines?\b"
)


#: A price as pictures show it: "¥99", "$19.99", "99元", "129.00".
PRICE = re.compile(r"[¥￥$€£]\s*\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s*(?:元|块|RMB|USD|EUR)|\d+\.\d{2}\b")
#: Words naming the price tag or sticker itself ("remove the price tag", "去掉价签").
PRICE_TAG = re.compile(
    r"(?i)价格标签|价签|价格牌|价格贴纸?|价格标|标价签?|\bprice\s*(?:tag|label|sticker)s?\b"
)
_PRICE_CHANGE = re.compile(
    r"(?i)(?:价格|价钱|售价|标价|现价|原价)\s*(?:改成|换成|改为|换为|变成|调成|改到|调到)\s*(?P<new>\S+)"
    r"|\b(?:change|set|update|make)\s+the\s+price\s+(?:to|into)\s+(?P<new_en>\S+)"
)


# Text to add written without quotes: "add the text SALE", "在右上角加上文字新品" (the place is
# already taken out of the clause). Only the words after "text"/"文字" are the text.
_UNQUOTED_ADD = re.compile(
    r"(?i)^(?:please\s+)?(?:add|put|write|insert|place|stamp|overlay)\s+(?:the\s+|a\s+|some\s+)?"
    r"(?:text|words?|caption|title|headline)\s*(?:saying|that\s+says|reading|[:：])?\s*(?P<text>[^\s].{0,39}?)$"
    r"|^(?:请|帮我)?(?:加上?|添加|添上|写上?|打上|标上|放上?)(?:一行|一段|一句)?(?:文字|字样|标题)[:：]?\s*(?P<text_zh>\S{1,20})$"
)

# "add the text" with no text: a text edit missing its words, not a generative edit.
_ADD_NO_TEXT = re.compile(
    r"(?i)^(?:please\s+)?(?:add|put|write|insert|place)\s+(?:the\s+|a\s+|some\s+)?(?:text|words?|caption|title)$"
    r"|^(?:请|帮我)?(?:加上?|添加|添上|写上?|打上|标上)(?:一行|一段|一句)?(?:文字|字样|标题)$"
)

# A badge asked for without quotes: "add a NEW badge", "加一个NEW标签"; its words are the ones in
# capitals or digits ("NEW", "50% OFF"). Other words ("加一个新品标签") are not guessed at: the
# text is asked for in quotes.
_BADGE_ADD_EN = re.compile(
    r"(?i)^(?:please\s+)?(?:add|put|place|stick|stamp)\s+(?:a|an|the|one)\s+(?P<words>.*?)\s*"
    r"\b(?:badge|sticker|tag|label|ribbon)s?$"
)
_BADGE_ADD_ZH = re.compile(
    r"^(?:请|帮我)?(?:加上?|添加|添上|贴上?|打上)(?:一个|一张|一枚|个|张)?(?P<words>.*?)的?(?:标签|角标|贴纸|徽章)$"
)
_LITERAL = re.compile(r"[A-Z0-9][A-Z0-9%$¥￥€£.!+\-]*")


def _badge_without_quotes(clause: Clause) -> TextAdd | None:
    """The badge of "add a NEW badge" / "加一个NEW标签", or a request for its text in quotes when
    its words are not literal ("add a badge", "加一个新品标签"): never a generative edit."""
    match = _BADGE_ADD_EN.match(clause.rest) or _BADGE_ADD_ZH.match(clause.rest)
    if match is None:
        return None
    words = match.group("words")
    literal = _LITERAL.findall(words)
    if literal:
        rest = _LITERAL.sub(" ", words)
        color = find_color(rest)
        return TextAdd(
            text=" ".join(literal),
            style="badge",
            color=canonical_color(color.group(0)) if color else None,
            place=clause.place,
            source=clause.source,
        )
    raise IncompleteEdit(
        "Say the badge's text in quotes, e.g. add a 'NEW' badge in the top right.",
        "请用引号写出标签上的文字，例如：在右上角加一个'新品'标签。",
        ["add a 'NEW' badge in the top right", "add a red 'SALE' sticker"],
        ["在右上角加一个'新品'标签", "加一个红色的'限时'贴纸"],
    )


def _text_color(clause: Clause) -> str | None:
    match = find_color(clause.rest)
    return canonical_color(match.group(0)) if match else None


def parse_text(clause: Clause) -> list[TextReplace | TextRemove | TextAdd] | None:
    """The text edit ``clause`` asks for, or ``None``."""
    text, quotes, place, source = clause.rest, clause.quotes, clause.place, clause.source
    price = _PRICE_CHANGE.search(clause.masked)
    if price and len(quotes) <= 1:
        new = quotes[0] if quotes else (price.group("new") or price.group("new_en") or "")
        new = new.strip(" 。.!！,，")
        if new and new != PLACEHOLDER:
            return [TextReplace(new=new, price=True, place=place, source=source)]
    if len(quotes) >= 2 and _REPLACE_VERB.search(text):
        return [TextReplace(old=quotes[0], new=quotes[1], place=place, source=source)]
    if quotes and REMOVE_VERB.search(text):
        return [TextRemove(text=quotes[0], place=place, source=source)]
    if quotes and _ADD_VERB.search(text):
        style: Literal["label", "badge"] = (
            "badge" if _BADGE.search(text) or not _LABEL.search(text) else "label"
        )
        return [TextAdd(text=quotes[0], style=style, color=_text_color(clause), place=place, source=source)]
    if not quotes and _ADD_NO_TEXT.search(text):
        raise IncompleteEdit(
            "Say which text to add, in quotes, e.g. add the text 'SALE' in the top right.",
            "请用引号写出要加的文字，例如：在右上角加上文字'新品'。",
            ["add the text 'SALE' in the top right", "add a 'NEW' badge"],
            ["在右上角加上文字'新品'", "加一个'新品上市'的标签"],
        )
    badge = None if quotes else _badge_without_quotes(clause)
    if badge:
        return [badge]
    unquoted = None if quotes else _UNQUOTED_ADD.search(text)
    if unquoted:
        words = (unquoted.group("text") or unquoted.group("text_zh")).strip(" 。.!！,，")
        return [TextAdd(text=words, style="label", place=place, source=source)]
    if not quotes and REMOVE_VERB.search(text):
        if _WATERMARK.search(text):
            return [TextRemove(watermark=True, place=place, source=source)]
        if _TEXT_WORD.search(text):
            return [TextRemove(place=place, source=source)]
    return None
