"""What an edit did, one verb phrase per operation of its plan, in Chinese or English.

The reply is built from these complete templates filled with the plan's values (colours, texts,
targets, the resolved object), never from pieces of the user's sentence: "调成黑白" becomes
"套用了黑白主题" / "applied the monochrome theme", not "已将调成黑白". A Chinese phrase reads after
"已" ("将红色连衣裙换成蓝色"), an English one after "I" ("made the red dress blue").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgedit.errors import ImgEditError
from tools.entities import color_word


@dataclass(frozen=True)
class Subject:
    """The object an edit was about, when the resolver named a known one."""

    name: str
    version: int  # the edit it came from (0: the original)

    def zh(self) -> str:
        where = "原图中的" if self.version == 0 else f"第{self.version}次编辑中的"
        return where + self.name

    def en(self) -> str:
        where = "from the original" if self.version == 0 else f"from edit {self.version}"
        return f"the {self.name} {where}"


def _theme_names(slug: str) -> tuple[str, str]:
    from engine.themes import get_theme

    try:
        theme = get_theme(slug)
    except ImgEditError:
        return slug, slug
    return theme.name_zh, theme.name_en or theme.name


def _zh_target(op: dict[str, Any], subject: Subject | None) -> str:
    if subject is not None:
        return subject.zh()
    color = color_word(op["from_color"], "zh") if op.get("from_color") else ""
    target = op.get("target") or ("的部分" if color else "目标")
    return f"{color}{target}"


def _en_target(op: dict[str, Any], subject: Subject | None) -> str:
    if subject is not None:
        return subject.en()
    words = [op.get("from_color") or "", op.get("target") or ("part" if op.get("from_color") else "object")]
    return "the " + " ".join(word for word in words if word)


def _adjust(op: dict[str, Any]) -> tuple[str, str]:
    table = (
        ("brightness", ("调亮画面", "made it brighter"), ("调暗画面", "made it darker")),
        ("contrast", ("增加对比度", "raised the contrast"), ("降低对比度", "lowered the contrast")),
        ("saturation", ("提高饱和度", "made the colours richer"), ("降低饱和度", "muted the colours")),
        ("warmth", ("让色调更暖", "made it warmer"), ("让色调更冷", "made it cooler")),
        ("sharpness", ("锐化画面", "sharpened it"), ("柔化画面", "softened it")),
    )
    parts = [up if op.get(key, 0.0) > 0 else down for key, up, down in table if op.get(key, 0.0)]
    if not parts:
        return "调整画面", "adjusted it"
    return "、".join(zh for zh, _ in parts), " and ".join(en for _, en in parts)


def _phrase(op: dict[str, Any], subject: Subject | None, new_name: str | None) -> tuple[str, str]:
    """The phrase for one operation as (Chinese, English)."""
    kind = op["op"]
    if kind == "text_replace":
        old, new = op["old"], op["new"]
        return f"将文字“{old}”换成“{new}”", f'replaced the text "{old}" with "{new}"'
    if kind == "text_remove":
        if op.get("watermark"):
            return "去掉水印", "removed the watermark"
        if op.get("text"):
            return f"去掉文字“{op['text']}”", f'removed the text "{op["text"]}"'
        return "去掉文字", "removed the text"
    if kind == "text_add":
        if op.get("style") == "badge":
            return f"加上“{op['text']}”标签", f'added a "{op["text"]}" badge'
        return f"加上文字“{op['text']}”", f'added the text "{op["text"]}"'
    if kind == "recolor":
        zh_to, en_to = color_word(op["to_color"], "zh"), op["to_color"]
        return f"将{_zh_target(op, subject)}换成{zh_to}", f"made {_en_target(op, subject)} {en_to}"
    if kind == "remove":
        return f"将{_zh_target(op, subject)}去掉", f"removed {_en_target(op, subject)}"
    if kind == "background":
        if op["mode"] == "blur":
            return "将背景虚化", "blurred the background"
        if op["mode"] == "solid" and op.get("color"):
            return f"将背景换成{color_word(op['color'], 'zh')}", f"made the background {op['color']}"
        what = op.get("description") or op.get("color")
        return f"将背景换成“{what}”", f'replaced the background with "{what}"'
    if kind == "theme":
        zh_name, en_name = _theme_names(op["name"])
        return f"套用{zh_name}主题", f"applied the {en_name} theme"
    if kind == "adjust":
        return _adjust(op)
    if kind == "crop":
        if op.get("aspect"):
            return f"将画面裁剪为{op['aspect']}", f"cropped it to {op['aspect']}"
        return "裁剪画面", "cropped it"
    if kind == "resize":
        if op.get("width") and op.get("height"):
            size = f"{op['width']}x{op['height']}"
            return f"将尺寸调整为{size}", f"resized it to {size}"
        if op.get("scale"):
            return f"将画面缩放到{op['scale']:.0%}", f"scaled it to {op['scale']:.0%}"
        return "调整尺寸", "resized it"
    if kind == "rotate":
        return f"将画面旋转{op['degrees']:g}度", f"rotated it by {op['degrees']:g} degrees"
    if kind == "flip":
        if op["axis"] == "horizontal":
            return "水平翻转画面", "flipped it horizontally"
        return "垂直翻转画面", "flipped it vertically"
    if subject is not None and new_name and new_name != subject.name:
        return f"将{subject.zh()}换成{new_name}", f"changed {subject.en()} into the {new_name}"
    what = op.get("description") or op.get("source")
    return f"按“{what}”修改画面", f'made the edit "{what}"'


_SUBJECT_KINDS = ("recolor", "remove", "generative")


def edit_phrases(
    operations: list[dict[str, Any]], language: str, subject: Subject | None, new_name: str | None = None
) -> list[str]:
    """One phrase per operation; the resolved ``subject`` names the first operation about an
    object, ``new_name`` what a generative edit turned it into."""
    phrases = []
    for op in operations:
        about = subject if op["op"] in _SUBJECT_KINDS else None
        if about is not None:
            subject = None  # only the first such operation is about the resolved object
        zh, en = _phrase(op, about, new_name)
        phrases.append(zh if language == "zh" else en)
    return phrases


def join_phrases(phrases: list[str], language: str) -> str:
    """The phrases as one clause: "将A换成B，并调亮画面" / "made A blue and made it brighter"."""
    if not phrases:  # a version recorded without its plan
        return "完成修改" if language == "zh" else "made the edit"
    if len(phrases) == 1:
        return phrases[0]
    if language == "zh":
        return "，".join(phrases[:-1]) + "，并" + phrases[-1]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
