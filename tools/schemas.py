"""Typed arguments of the tools: what the model fills in, with descriptions it reads.

Images are named by position ("1", "2") or id; versions by number, id, "original" or
"previous". Leaving them out means the active image and its current version.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

_IMAGE = "Which image: its position in the session ('1' = first) or its id. Omit for the current image."
_VERSION = (
    "Which version: a number ('0' = original), a version id, 'original' or 'previous'. Omit for current."
)


class EditImageArgs(BaseModel):
    instruction: str = Field(
        description="The edit, with every reference resolved to what it names, e.g. "
        "'把蓝色长袖衬衫换成条纹款' rather than '把刚才那件衣服换成条纹款'."
    )
    image: str | None = Field(default=None, description=_IMAGE)
    from_version: str | None = Field(default=None, description="Version to start from. " + _VERSION)
    target_entity: str | None = Field(
        default=None, description="Id of the known object (from the registry) this edit is about, if any."
    )
    reference_images: list[str] = Field(
        default_factory=list,
        max_length=2,
        description="Other images this edit takes something from, in order: they are 'Picture 2' and "
        "'Picture 3' of the instruction, the edited image being 'Picture 1' (e.g. 'Put the logo from "
        "Picture 2 on Picture 1'). Each is an image position or id, optionally '@' a version "
        "('2', '2@original', '2@3'); without a version, its current one. Needs the qwen engine.",
    )
    seed: int | None = Field(default=None, description="Random seed for generative edits.")


class ApplyThemeArgs(BaseModel):
    theme: str = Field(description="Name of a style template (see `imgedit themes`).")
    image: str | None = Field(default=None, description=_IMAGE)
    from_version: str | None = Field(default=None, description="Version to start from. " + _VERSION)


class ImageArgs(BaseModel):
    image: str | None = Field(default=None, description=_IMAGE)


class SelectImageArgs(BaseModel):
    image: str = Field(description="The image to work on: its position ('1' = first) or its id.")


class RevertArgs(BaseModel):
    version: str = Field(description="The version to go back to. " + _VERSION)
    image: str | None = Field(default=None, description=_IMAGE)


class DescribeImageArgs(BaseModel):
    image: str | None = Field(default=None, description=_IMAGE)
    version: str | None = Field(default=None, description=_VERSION)
    read_text: bool = Field(default=True, description="Also read the text in the image (OCR).")


class CompareVersionsArgs(BaseModel):
    a: str | None = Field(default=None, description="Older version; omit for the parent of b. " + _VERSION)
    b: str | None = Field(default=None, description="Newer version; omit for the current one. " + _VERSION)
    image: str | None = Field(default=None, description=_IMAGE)
