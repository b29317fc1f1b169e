"""What a message asks for, before any reference is resolved: undo, redo, revert, a list of
versions, a description, a comparison, a theme, help, or (by default) an edit."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNDO = re.compile(r"\bundo\b|撤销|撤回|取消上一步|回退一步|退回上一步", re.IGNORECASE)
_REDO = re.compile(r"\bredo\b|重做|恢复撤销", re.IGNORECASE)
_REVERT = re.compile(
    r"\brevert\b|\bgo back\b|\bback to\b|\brestore\b|\buse (?:the )?(?:original|version)|\bswitch to\b|"
    r"回到|恢复到?|还原|退回到|改回|用原图|换回",
    re.IGNORECASE,
)
_LIST = re.compile(
    r"\bhistory\b|\blist (?:the )?versions\b|\bshow (?:me )?(?:the )?versions\b"
    r"|历史|有哪些版本|版本列表|列出版本",
    re.IGNORECASE,
)
_DESCRIBE = re.compile(
    r"\bdescribe\b|what(?:'s| is) in|what text|图里有什么|图中有什么|描述|识别文字|图上写了什么",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\bcompare\b|\bdiff\b|what changed|\bdifference\b|对比|比较|有什么变化|有什么不同", re.IGNORECASE
)
_HELP = re.compile(r"^\s*(?:help|hi|hello|hey|你好|您好|帮助|怎么用)\W*$", re.IGNORECASE)
_THEME_WORD = re.compile(r"\btheme\b|\bstyle\b|\blook\b|\bfilter\b|主题|风格|滤镜|色调|模板", re.IGNORECASE)
#: Words that ask for a change, used to tell "use the original" (revert) from "start from the
#: original and make it brighter" (an edit that starts from the original).
EDIT_VERB = re.compile(
    r"\b(?:change|make|replace|turn|remove|delete|add|put|recolou?r|paint|set|brighten|darken|crop|rotate|"
    r"flip|resize|erase|give|swap|apply)\b|换成|改成|变成|改为|换为|调|加|去掉|删除|移除|添加|放|裁|旋转|翻转|"
    r"提亮|变亮|变暗|替换",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Intent:
    kind: str  # help | undo | redo | revert | list | describe | compare | theme | edit
    theme: str | None = None


def detect_intent(text: str, theme_names: dict[str, str]) -> Intent:
    """The kind of request; ``theme_names`` maps every theme word (any language) to its slug."""
    if _HELP.match(text):
        return Intent("help")
    has_edit = bool(EDIT_VERB.search(text))
    if _UNDO.search(text):
        return Intent("undo")
    if _REDO.search(text):
        return Intent("redo")
    if _REVERT.search(text) and not (has_edit and not re.search(r"改回|换回", text)):
        return Intent("revert")
    if _LIST.search(text):
        return Intent("list")
    if _COMPARE.search(text):
        return Intent("compare")
    if _DESCRIBE.search(text) and not has_edit:
        return Intent("describe")
    if _THEME_WORD.search(text):
        lowered = text.casefold()
        for word in sorted(theme_names, key=len, reverse=True):
            if re.search(rf"(?<![a-z]){re.escape(word.casefold())}(?![a-z])", lowered):
                return Intent("theme", theme=theme_names[word])
    return Intent("edit")
