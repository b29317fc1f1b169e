"""The typed edit plan: what an instruction asks for, as operations an engine can execute.

The bilingual parser (engine/parsing) turns an instruction into an ``EditPlan``; engines
declare which operation kinds they execute; the editor routes a plan to an engine that can
do all of it, and decides from the plan whether the edit is local (preservation and the edit
area limit apply) or whole-image (themes, global adjustments, geometry are exempt).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Place(StrEnum):
    """Named places in an image, shared by both languages ("左下角" and "bottom left")."""

    TOP_LEFT = "top-left"
    TOP = "top"
    TOP_RIGHT = "top-right"
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM = "bottom"
    BOTTOM_RIGHT = "bottom-right"
    BACKGROUND = "background"
    FOREGROUND = "foreground"


class Box(BaseModel):
    """A rectangle in fractions of the image size (0..1), so it survives resizing."""

    x0: float = Field(ge=0.0, le=1.0)
    y0: float = Field(ge=0.0, le=1.0)
    x1: float = Field(ge=0.0, le=1.0)
    y1: float = Field(ge=0.0, le=1.0)


class _Op(BaseModel):
    """Fields every operation has: where it applies, and the words it came from."""

    place: Place | None = None
    box: Box | None = None
    source: str = Field(default="", description="The part of the instruction this came from.")
    implied: bool = Field(
        default=False,
        description="Added by a purpose ('用于淘宝主图'), not asked for one by one: it may find "
        "nothing to do (the backdrop is already white) without the edit failing.",
    )


class TextReplace(_Op):
    """Replace quoted text (``old``), or with ``price`` the price the picture shows ("把价格改成¥99":
    whatever amount OCR reads, ¥/$/元 and the like)."""

    op: Literal["text_replace"] = "text_replace"
    old: str = ""
    new: str
    price: bool = False


class TextRemove(_Op):
    op: Literal["text_remove"] = "text_remove"
    text: str | None = Field(default=None, description="Text to find; None removes by place.")
    watermark: bool = False


class TextAdd(_Op):
    op: Literal["text_add"] = "text_add"
    text: str
    style: Literal["label", "badge"] = "badge"
    color: str | None = None


class Recolor(_Op):
    op: Literal["recolor"] = "recolor"
    target: str = Field(default="", description="What to recolour, as named: 'dress', '裙子'.")
    from_color: str | None = None
    to_color: str


class Remove(_Op):
    op: Literal["remove"] = "remove"
    target: str = ""
    color: str | None = None


class Background(_Op):
    """The parser emits ``solid`` (a colour; "remove the background" is solid white), ``blur``
    and ``transparent`` (a cut-out: alpha for PNG/WebP, white in a JPEG); a new scene
    ("把背景换成海滩") is parsed as ``Generative``, since only qwen paints one."""

    op: Literal["background"] = "background"
    mode: Literal["solid", "blur", "transparent", "replace"]
    color: str | None = None
    description: str | None = None


class Theme(_Op):
    op: Literal["theme"] = "theme"
    name: str


class Adjust(_Op):
    """Global tone changes; each amount is a signed strength, 0 = unchanged, ±1 = strong."""

    op: Literal["adjust"] = "adjust"
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    warmth: float = 0.0
    sharpness: float = 0.0


class Crop(_Op):
    op: Literal["crop"] = "crop"
    aspect: str | None = Field(default=None, description="'1:1', '16:9'; or use box/place.")


class Pad(_Op):
    """Letterbox to an aspect ("补白成正方形", "pad to 1:1"): the picture is kept whole and the
    canvas grows with ``color``, or with the backdrop's own colour when ``None``."""

    op: Literal["pad"] = "pad"
    aspect: str
    color: str | None = None


class Resize(_Op):
    """A new size. With both sides given the aspect is kept (the picture fits inside) unless
    ``stretch`` is said ("stretch to 800x800", "拉伸到800x800")."""

    op: Literal["resize"] = "resize"
    width: int | None = None
    height: int | None = None
    scale: float | None = None
    stretch: bool = False


class Rotate(_Op):
    """Pillow's convention: positive degrees turn counter-clockwise, so "rotate 90 degrees
    clockwise" is ``degrees=-90`` and "向左旋转90度" is ``degrees=90``. The parser reads a rotation
    with no direction ("rotate 90 degrees") as clockwise."""

    op: Literal["rotate"] = "rotate"
    degrees: float


class Flip(_Op):
    op: Literal["flip"] = "flip"
    axis: Literal["horizontal", "vertical"]


class Generative(_Op):
    """An edit only a generative model can make: replace a garment, add a painting, restyle a face."""

    op: Literal["generative"] = "generative"
    description: str


Operation = Annotated[
    TextReplace
    | TextRemove
    | TextAdd
    | Recolor
    | Remove
    | Background
    | Theme
    | Adjust
    | Crop
    | Pad
    | Resize
    | Rotate
    | Flip
    | Generative,
    Field(discriminator="op"),
]

OperationKind = Literal[
    "text_replace",
    "text_remove",
    "text_add",
    "recolor",
    "remove",
    "background",
    "theme",
    "adjust",
    "crop",
    "pad",
    "resize",
    "rotate",
    "flip",
    "generative",
]

#: Kinds that change the whole picture by design: exempt from preservation and the area limit.
WHOLE_IMAGE_KINDS: frozenset[str] = frozenset({"theme", "adjust"})
#: Kinds that change the image's geometry: the output size follows the operation.
GEOMETRY_KINDS: frozenset[str] = frozenset({"crop", "pad", "resize", "rotate", "flip"})


class EditPlan(BaseModel):
    """An instruction as an ordered list of operations."""

    instruction: str
    operations: list[Operation] = Field(min_length=1)
    language: Literal["zh", "en", "mixed"] = "en"
    purpose: str | None = Field(
        default=None, description="The marketplace preset the instruction named ('taobao', 'amazon')."
    )

    @property
    def kinds(self) -> list[str]:
        return [op.op for op in self.operations]

    @property
    def is_local(self) -> bool:
        """True when the plan touches only part of the image, so unnamed pixels must be kept."""
        return not any(kind in WHOLE_IMAGE_KINDS or kind in GEOMETRY_KINDS for kind in self.kinds)

    @property
    def area_limited(self) -> bool:
        """True when ``IMGEDIT_MAX_EDIT_AREA`` applies: local edits other than background changes,
        which legitimately repaint most of the picture."""
        return self.is_local and "background" not in self.kinds

    @property
    def changes_geometry(self) -> bool:
        return any(kind in GEOMETRY_KINDS for kind in self.kinds)
