"""What an edit did, one verb phrase per operation of its plan, in Chinese or English.

The reply is built from these complete templates filled with the plan's values (colours, texts,
targets, the resolved object), never from pieces of the user's sentence: "调成黑白" becomes
"套用了黑白主题" / "applied the monochrome theme", not "已将调成黑白". A Chinese phrase reads after
"已" ("将红色连衣裙换成蓝色"), an English one after "I" ("made the red dress blue").
"""

from __future__ import annotations

from collections.abc import Callable
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


def _theme_name(slug: str, language: str) -> str:
    from engine.themes import get_theme

    try:
        theme = get_theme(slug)
    except ImgEditError:
        return slug
    return theme.name_zh if language == "zh" else theme.name_en or theme.name


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


def _adjust(op: dict[str, Any], language: str) -> str:
    zh = language == "zh"
    table = (
        ("brightness", ("调亮画面", "made it brighter"), ("调暗画面", "made it darker")),
        ("contrast", ("增加对比度", "raised the contrast"), ("降低对比度", "lowered the contrast")),
        ("saturation", ("提高饱和度", "made the colours richer"), ("降低饱和度", "muted the colours")),
        ("warmth", ("让色调更暖", "made it warmer"), ("让色调更冷", "made it cooler")),
        ("sharpness", ("锐化画面", "sharpened it"), ("柔化画面", "softened it")),
    )
    parts = [
        (up if op.get(key, 0.0) > 0 else down)[0 if zh else 1] for key, up, down in table if op.get(key, 0.0)
    ]
    if not parts:
        return "调整画面" if zh else "adjusted it"
    return "、".join(parts) if zh else " and ".join(parts)


def _zh_phrase(op: dict[str, Any], subject: Subject | None, new_name: str | None) -> str:
    kind = op["op"]
    if kind == "text_replace":
        return f"将文字“{op['old']}”换成“{op['new']}”"
    if kind == "text_remove":
        if op.get("watermark"):
            return "去掉水印"
        return f"去掉文字“{op['text']}”" if op.get("text") else "去掉文字"
    if kind == "text_add":
        return f"加上“{op['text']}”标签" if op.get("style") == "badge" else f"加上文字“{op['text']}”"
    if kind == "recolor":
        return f"将{_zh_target(op, subject)}换成{color_word(op['to_color'], 'zh')}"
    if kind == "remove":
        return f"将{_zh_target(op, subject)}去掉"
    if kind == "background":
        if op["mode"] == "blur":
            return "将背景虚化"
        if op["mode"] == "solid" and op.get("color"):
            return f"将背景换成{color_word(op['color'], 'zh')}"
        return f"将背景换成“{op.get('description') or op.get('color')}”"
    if kind == "theme":
        return f"套用{_theme_name(op['name'], 'zh')}主题"
    if kind == "adjust":
        return _adjust(op, "zh")
    if kind == "crop":
        return f"将画面裁剪为{op['aspect']}" if op.get("aspect") else "裁剪画面"
    if kind == "resize":
        if op.get("width") and op.get("height"):
            return f"将尺寸调整为{op['width']}x{op['height']}"
        return f"将画面缩放到{op['scale']:.0%}" if op.get("scale") else "调整尺寸"
    if kind == "rotate":
        return f"将画面旋转{op['degrees']:g}度"
    if kind == "flip":
        return "水平翻转画面" if op["axis"] == "horizontal" else "垂直翻转画面"
    if subject is not None and new_name and new_name != subject.name:
        return f"将{subject.zh()}换成{new_name}"
    return f"按“{op.get('description') or op.get('source')}”修改画面"


def _en_phrase(op: dict[str, Any], subject: Subject | None, new_name: str | None) -> str:
    kind = op["op"]
    if kind == "text_replace":
        return f'replaced the text "{op["old"]}" with "{op["new"]}"'
    if kind == "text_remove":
        if op.get("watermark"):
            return "removed the watermark"
        return f'removed the text "{op["text"]}"' if op.get("text") else "removed the text"
    if kind == "text_add":
        if op.get("style") == "badge":
            return f'added a "{op["text"]}" badge'
        return f'added the text "{op["text"]}"'
    if kind == "recolor":
        return f"made {_en_target(op, subject)} {op['to_color']}"
    if kind == "remove":
        return f"removed {_en_target(op, subject)}"
    if kind == "background":
        if op["mode"] == "blur":
            return "blurred the background"
        if op["mode"] == "solid" and op.get("color"):
            return f"made the background {op['color']}"
        return f'replaced the background with "{op.get("description") or op.get("color")}"'
    if kind == "theme":
        return f"applied the {_theme_name(op['name'], 'en')} theme"
    if kind == "adjust":
        return _adjust(op, "en")
    if kind == "crop":
        return f"cropped it to {op['aspect']}" if op.get("aspect") else "cropped it"
    if kind == "resize":
        if op.get("width") and op.get("height"):
            return f"resized it to {op['width']}x{op['height']}"
        return f"scaled it to {op['scale']:.0%}" if op.get("scale") else "resized it"
    if kind == "rotate":
        return f"rotated it by {op['degrees']:g} degrees"
    if kind == "flip":
        return "flipped it horizontally" if op["axis"] == "horizontal" else "flipped it vertically"
    if subject is not None and new_name and new_name != subject.name:
        return f"changed {subject.en()} into the {new_name}"
    return f'made the edit "{op.get("description") or op.get("source")}"'


_SUBJECT_KINDS = ("recolor", "remove", "generative")


def edit_phrases(
    operations: list[dict[str, Any]], language: str, subject: Subject | None, new_name: str | None = None
) -> list[str]:
    """One phrase per operation; the resolved ``subject`` names the first operation about an
    object, ``new_name`` what a generative edit turned it into."""
    phrase: Callable[[dict[str, Any], Subject | None, str | None], str] = (
        _zh_phrase if language == "zh" else _en_phrase
    )
    phrases = []
    for op in operations:
        about = subject if op["op"] in _SUBJECT_KINDS else None
        if about is not None:
            subject = None  # only the first such operation is about the resolved object
        phrases.append(phrase(op, about, new_name))
    return phrases


def join_phrases(phrases: list[str], language: str) -> str:
    """The phrases as one clause: "将A换成B，并调亮画面" / "made A blue and made it brighter"."""
    if len(phrases) == 1:
        return phrases[0]
    if language == "zh":
        return "，".join(phrases[:-1]) + "，并" + phrases[-1]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
