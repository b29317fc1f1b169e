"""Decoding an image part for editing and encoding the result back in the same format.

Every raster format Pillow can both read and write is restyled in its own format, so a deck's
GIF stays a GIF (an animated one keeps every frame, its timing, loop and transparency), a TIFF
keeps its compression, a WebP stays lossless or lossy as it was, a BMP stays a BMP.

Unlike ``engine.imageio.load_image`` this does not apply EXIF orientation: the slide's crop
(``a:srcRect``) and stretch refer to the stored pixel grid, so the edited picture must keep that
grid exactly. Colour profile and resolution are carried over so the picture looks the same apart
from the edit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageSequence

from engine.imageio import decode_checked, to_rgb_or_rgba
from imgedit.errors import ImageTooLargeError

#: Formats a deck's pictures are restyled in and written back as; others are kept (docs/decks.md).
DECK_FORMATS = frozenset({"PNG", "JPEG", "GIF", "TIFF", "BMP", "WEBP", "MPO"})
#: Still formats every caller takes back: the Figma bridge restyles only these (a Figma fill
#: that is a GIF would lose its animation through ``encode_like``).
EDITABLE_FORMATS = frozenset({"PNG", "JPEG"})
#: zlib level for edited PNGs: level 3 encodes a 1000 px photo about 4x faster than level 6 for a
#: file some 6-8% larger (bench/deck.py); PNG encoding was most of a deck's restyling time.
PNG_COMPRESS_LEVEL = 3
#: TIFF compressions Pillow writes; any other is written as LZW (lossless, as widely read).
_TIFF_COMPRESSIONS = frozenset({"raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits", "jpeg"})


@dataclass
class DecodedImage:
    """The part's frames (one for a still picture) as RGB or RGBA, and how to write them back."""

    frames: list[Image.Image]
    format: str
    info: dict[str, Any]  # colour profile and resolution, carried into the new file
    durations: list[int] = field(default_factory=list)  # ms per frame, for animations
    loop: int | None = None
    lossless: bool = False  # WebP: VP8L (lossless) rather than VP8
    compression: str | None = None  # TIFF

    @property
    def image(self) -> Image.Image:
        return self.frames[0]

    @property
    def animated(self) -> bool:
        return len(self.frames) > 1


def decode_part(data: bytes, name: str, *, max_pixels: int) -> DecodedImage:
    """Decode an image part with ``load_image``'s checks, keeping its stored pixel grid; every
    frame of an animation (all frames together must stay within ``max_pixels``)."""
    opened = decode_checked(
        data,
        name,
        max_pixels=max_pixels,
        formats=DECK_FORMATS,
        accepted="PNG, JPEG, GIF, TIFF, BMP and WebP parts are edited",
        # A part name's extension says what it claims to be; a name without one ("image 3f2a…")
        # must not be read as a format ("not a readable IMAGE 3F2A… image").
        readable=name.rsplit(".", 1)[-1].upper() if "." in name else "PNG or JPEG",
    )
    fmt = (opened.format or "").upper()
    fmt = "JPEG" if fmt == "MPO" else fmt  # a camera's JPEG with a second picture: still a JPEG
    count = getattr(opened, "n_frames", 1) if fmt in ("GIF", "WEBP") else 1
    if count * opened.width * opened.height > max_pixels:
        raise ImageTooLargeError(
            f"{name} has {count} frames of {opened.width}x{opened.height}: too many pixels to restyle "
            f"(limit {max_pixels:,})."
        )
    info: dict[str, Any] = {key: opened.info[key] for key in ("icc_profile", "dpi") if key in opened.info}
    frames: list[Image.Image] = []
    durations: list[int] = []
    transparent = False
    for frame in ImageSequence.Iterator(opened) if count > 1 else [opened]:
        durations.append(int(frame.info.get("duration", 0) or 0))
        transparent = transparent or "transparency" in frame.info
        frames.append(to_rgb_or_rgba(frame.copy()))
    if transparent and fmt == "GIF":  # one transparent frame: every frame keeps an alpha channel
        frames = [f.convert("RGBA") for f in frames]
    opened.seek(0)
    return DecodedImage(
        frames=frames,
        format=fmt,
        info=info,
        durations=durations,
        loop=opened.info.get("loop"),
        lossless=fmt == "WEBP" and _webp_lossless(data),
        compression=opened.info.get("compression") if fmt == "TIFF" else None,
    )


def encode_like(image: Image.Image, original: DecodedImage) -> bytes:
    """One edited picture in the original's format, with its colour profile and resolution."""
    return encode_frames([image], original)


def encode_frames(frames: list[Image.Image], original: DecodedImage) -> bytes:
    """``frames`` in the original's format, with its colour profile, resolution, timing and loop."""
    buffer = io.BytesIO()
    extra: dict[str, Any] = dict(original.info)
    first, rest = frames[0], frames[1:]
    fmt = original.format
    if rest:
        extra.update(save_all=True, append_images=rest, duration=original.durations)
        if original.loop is not None:
            extra["loop"] = original.loop
    if fmt == "JPEG":
        first.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0, **extra)
    elif fmt == "GIF":
        if not rest and original.durations and original.durations[0]:
            extra["duration"] = original.durations[0]
        # disposal 2 (restore to background) lets transparent frames show what is behind the
        # picture rather than the frame before; Pillow writes each frame's changed box.
        first.save(buffer, "GIF", disposal=2 if first.mode == "RGBA" else 1, optimize=False, **extra)
    elif fmt == "WEBP":
        quality: dict[str, Any] = {"lossless": True} if original.lossless else {"quality": 92}
        first.save(buffer, "WEBP", method=4, **quality, **extra)
    elif fmt == "TIFF":
        compression = original.compression if original.compression in _TIFF_COMPRESSIONS else "tiff_lzw"
        image = first.convert("RGB") if compression == "jpeg" else first
        image.save(buffer, "TIFF", compression=compression, **extra)
    elif fmt == "BMP":
        first.save(buffer, "BMP", **{k: v for k, v in extra.items() if k == "dpi"})
    else:
        first.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, **extra)
    return buffer.getvalue()


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP's image chunk is VP8L (lossless), walking the RIFF chunks past VP8X, ICCP,
    ALPH or ANIM headers; an animation's frames (ANMF) carry the chunk inside them."""
    offset = 12
    while offset + 8 <= len(data):
        tag, size = data[offset : offset + 4], int.from_bytes(data[offset + 4 : offset + 8], "little")
        if tag in (b"VP8L", b"VP8 "):
            return tag == b"VP8L"
        if tag == b"ANMF":  # frame header (16 bytes), then the frame's own chunks
            offset += 8 + 16
            continue
        offset += 8 + size + (size & 1)
    return False
