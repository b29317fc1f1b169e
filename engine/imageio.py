"""Reading and writing images safely: formats we accept, size limits, and keeping the format.

Every image that enters imgedit passes through ``load_image``: it refuses files that are not
PNG, JPEG or WebP, refuses decompression bombs *before* decoding pixels (Pillow reads the
size from the header), and applies EXIF orientation so edits happen on the picture as seen.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from imgedit.config import Settings
from imgedit.errors import BadInputError, ImageTooLargeError, InChinese

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP")
#: The default of ``IMGEDIT_MAX_IMAGE_PIXELS``, for callers without settings at hand.
DEFAULT_MAX_PIXELS: int = Settings.model_fields["max_image_pixels"].default
MAX_SIDE = 20_000

_SUFFIX_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}

#: zlib level of every PNG imgedit writes. Level 1 encodes a 512x512 photo in ~20 ms instead of
#: ~65 ms at Pillow's default 6, for a file 6-10 % larger (graphics with flat areas: up to
#: 40 % larger, still small); PNG encoding was most of a served edit's time (bench/server_load.py).
#: PNG is lossless at every level: only the file size changes, never a pixel.
PNG_COMPRESS_LEVEL = 1


@dataclass
class LoadedImage:
    image: Image.Image
    format: str


def check_dimensions(
    width: int, height: int, *, max_pixels: int = DEFAULT_MAX_PIXELS, what: str = "The image"
) -> None:
    """Refuse sizes we will not decode: too many pixels in all, or a side too long.

    ``what`` opens the message: "The image", or the file's name.
    """
    if width <= 0 or height <= 0:
        raise BadInputError(
            f"{what} has no pixels ({width}x{height}).",
            zh=InChinese(f"{what} 没有像素（{width}x{height}）。"),
        )
    if width * height > max_pixels or max(width, height) > MAX_SIDE:
        raise ImageTooLargeError(
            f"{what} is {width}x{height} pixels; the limit is {max_pixels:,} pixels "
            f"and {MAX_SIDE:,} pixels a side.",
            hint="Resize it first, or raise IMGEDIT_MAX_IMAGE_PIXELS.",
            zh=InChinese(
                f"{what} 有 {width}x{height} 像素，超出上限："
                f"总共 {max_pixels:,} 像素，每边 {MAX_SIDE:,} 像素。",
                "请先缩小图片，或调高 IMGEDIT_MAX_IMAGE_PIXELS。",
            ),
        )


def load_image(
    source: str | Path | bytes | io.BytesIO, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> LoadedImage:
    """Open, check and decode an image; raise ``BadInputError`` with a clear message if unusable."""
    label = name or (str(source) if isinstance(source, str | Path) else "uploaded file")
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise BadInputError(
                f"No such image file: {path}",
                hint="Check the path and its spelling.",
                zh=InChinese(f"找不到图片文件：{path}", "请检查路径是否写对。"),
            )
        data: bytes = path.read_bytes()
    elif isinstance(source, io.BytesIO):
        data = source.getvalue()
    else:
        data = source
    if not data:
        raise BadInputError(f"{label} is empty.", zh=InChinese(f"{label} 是空文件。"))
    opened = decode_checked(data, label, max_pixels=max_pixels)
    image = to_rgb_or_rgba(ImageOps.exif_transpose(opened))
    return LoadedImage(image=image, format=(opened.format or "").upper())


def decode_checked(
    data: bytes,
    label: str,
    *,
    max_pixels: int,
    formats: Collection[str] = SUPPORTED_FORMATS,
    accepted: str = "imgedit reads PNG, JPEG and WebP",
    readable: str = "PNG, JPEG or WebP",
    header_only: bool = False,
) -> Image.Image:
    """Decode ``data`` after refusing, from the header alone, other formats and oversized images.

    Shared by ``load_image``, the deck codec (which keeps the stored pixel grid, so it skips
    EXIF orientation) and the server's upload check (``header_only``: the checks without the
    decode, for uploads that a job decodes later); ``accepted`` and ``readable`` word the
    refusals for the caller's formats. The returned image keeps its ``format`` and ``info``
    (colour profile, resolution).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            fmt = (opened.format or "").upper()
            if fmt not in formats:
                raise BadInputError(
                    f"{label} is {fmt or 'not an image'}; {accepted}.",
                    zh=InChinese(f"{label} 是 {fmt or '非图片'} 文件；只能处理 {_zh_list(formats)} 格式。"),
                )
            check_dimensions(opened.width, opened.height, max_pixels=max_pixels, what=label)
            if not header_only:
                opened.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"{label} is too large to decode safely ({exc}).",
            zh=InChinese(f"{label} 太大，无法安全解码。", "请先缩小图片，或调高 IMGEDIT_MAX_IMAGE_PIXELS。"),
        ) from exc
    except UnidentifiedImageError as exc:
        # Pillow's own text here names only a BytesIO object's address: nothing a user can act on.
        raise _unreadable(label, readable, "") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(label, readable, f" ({exc})") from exc
    return opened


def _unreadable(label: str, readable: str, detail: str) -> BadInputError:
    """A damaged, truncated or mislabelled file: say so, and what to try."""
    zh_formats = readable.replace(" or ", " 或 ").replace(", ", "、")
    return BadInputError(
        f"{label} is not a readable {readable} image{detail}.",
        hint=f"It is damaged, cut short or not an image: open it in a viewer, or save it as {readable}.",
        zh=InChinese(
            f"{label} 不是可读取的 {zh_formats} 图片。",
            f"文件已损坏、不完整或不是图片：请用看图软件打开检查，或重新保存为 {zh_formats}。",
        ),
    )


def _zh_list(formats: Collection[str]) -> str:
    return "、".join("WebP" if fmt == "WEBP" else fmt for fmt in formats)


def to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    """``image`` as RGB, or RGBA when it has transparency: the two modes the engines accept."""
    if image.mode in ("RGB", "RGBA"):
        return image
    has_alpha = image.mode in ("LA", "PA", "La") or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def format_for_path(path: str | Path, default: str = "PNG") -> str:
    return _SUFFIX_FORMATS.get(Path(path).suffix.lower(), default)


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """Encode in ``fmt`` with quality settings that do not visibly degrade an edit."""
    fmt = fmt.upper()
    buffer = io.BytesIO()
    if fmt == "JPEG":
        # JPEG has no alpha: a transparent cut-out is laid on white, soft edges blended.
        flat = image
        if image.mode in ("RGBA", "LA", "PA"):
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        flat.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=95, method=4)
    elif fmt == "PNG":
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        raise BadInputError(f"Cannot write {fmt}; imgedit writes PNG, JPEG and WebP.")
    return buffer.getvalue()


def save_image(image: Image.Image, path: str | Path, fmt: str | None = None) -> Path:
    """Write atomically (temporary file, then rename) so a crash never leaves half an image."""
    path = Path(path)
    data = encode_image(image, fmt or format_for_path(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
