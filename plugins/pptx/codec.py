"""Decoding an image part for editing and encoding the result back in the same format.

Unlike ``engine.imageio.load_image`` this does not apply EXIF orientation: the slide's crop
(``a:srcRect``) and stretch refer to the stored pixel grid, so the edited picture must keep that
grid exactly. Colour profile and resolution are carried over so the picture looks the same apart
from the edit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from engine.imageio import decode_checked, to_rgb_or_rgba

#: Formats that are edited; others are kept as they are (see docs/decks.md for why).
EDITABLE_FORMATS = frozenset({"PNG", "JPEG"})
#: zlib level for edited PNGs: level 3 encodes a 1000 px photo about 4x faster than level 6 for a
#: file some 6-8% larger (bench/deck.py); PNG encoding was most of a deck's restyling time.
PNG_COMPRESS_LEVEL = 3


@dataclass
class DecodedImage:
    image: Image.Image  # RGB, or RGBA when the part has transparency
    format: str
    info: dict[str, Any]


def decode_part(data: bytes, name: str, *, max_pixels: int) -> DecodedImage:
    """Decode an image part with ``load_image``'s checks, keeping its stored pixel grid."""
    opened = decode_checked(
        data,
        name,
        max_pixels=max_pixels,
        formats=EDITABLE_FORMATS,
        accepted="only PNG and JPEG parts are edited",
        readable=name.rsplit(".", 1)[-1].upper(),
    )
    info: dict[str, Any] = {key: opened.info[key] for key in ("icc_profile", "dpi") if key in opened.info}
    return DecodedImage(image=to_rgb_or_rgba(opened), format=(opened.format or "").upper(), info=info)


def encode_like(image: Image.Image, original: DecodedImage) -> bytes:
    """``image`` in the original's format, with its colour profile and resolution."""
    buffer = io.BytesIO()
    extra: dict[str, Any] = dict(original.info)
    if original.format == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0, **extra)
    else:
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, **extra)
    return buffer.getvalue()
