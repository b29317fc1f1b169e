"""Pictures for demos, benchmarks and tests: real photographs from scikit-image's wheel (offline),
and the two marketplace cases drawn on them: a product shot on a studio backdrop, and a
watermark on a texture."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SAMPLE_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "cat")


def sample_photo(name: str = "astronaut") -> Image.Image:
    """An RGB photograph by its ``skimage.data`` name (astronaut, coffee, chelsea, ...)."""
    from skimage import data

    array = getattr(data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return Image.fromarray(array[..., :3].astype(np.uint8))


#: The drawn product shot's backdrop and mug colours.
PRODUCT_BACKDROP = (244, 244, 242)
PRODUCT_COLOR = (200, 30, 40)


def product_shot(size: int = 160, seed: int = 0) -> Image.Image:
    """A red mug with a thin handle (3 px at 160 px) and a soft contact shadow on a near-white
    studio backdrop with a little sensor noise: the layout of most marketplace photos."""
    s = size / 160
    rng = np.random.default_rng(seed)
    backdrop = np.asarray(PRODUCT_BACKDROP, np.float32) + rng.normal(0, 1.2, (size, size, 3))
    shadow = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).ellipse((40 * s, 116 * s, 112 * s, 132 * s), fill=120)
    shadow = shadow.filter(ImageFilter.GaussianBlur(4 * s))
    shade = 1.0 - np.asarray(shadow, np.float32)[..., None] / 255 * 0.45
    image = Image.fromarray((backdrop * shade).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle((45 * s, 40 * s, 105 * s, 122 * s), fill=PRODUCT_COLOR)
    draw.ellipse((100 * s, 60 * s, 126 * s, 104 * s), outline=PRODUCT_COLOR, width=max(1, round(3 * s)))
    return image


def watermarked(texture: str = "brick", size: int = 256) -> tuple[Image.Image, Image.Image, np.ndarray]:
    """A texture photo with a semi-transparent white 'SAMPLE' watermark and its soft dark shadow
    near the bottom; returns the marked picture, the clean one, and where the mark is (bool)."""
    from engine.classic.fonts import find_font  # the engine's own font finder draws the mark

    clean = sample_photo(texture).resize((size, size), Image.Resampling.LANCZOS).convert("RGBA")
    layer = Image.new("RGBA", clean.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = find_font("SAMPLE").at(round(size * 0.14))
    x, y, offset = round(size * 0.22), round(size * 0.78), max(1, round(size / 128))
    draw.text((x + offset, y + offset), "SAMPLE", font=font, fill=(0, 0, 0, 90))
    draw.text((x, y), "SAMPLE", font=font, fill=(255, 255, 255, 150))
    marked = Image.alpha_composite(clean, layer).convert("RGB")
    return marked, clean.convert("RGB"), np.asarray(layer)[..., 3] > 0


def with_text(
    image: Image.Image,
    text: str,
    origin: tuple[int, int],
    size: int,
    fill: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """``image`` with one line of ``text`` drawn at ``origin`` (its top left), ``size`` px, in the
    engine's own font: a price tag or a banner, as marketplace pictures carry them."""
    from engine.classic.fonts import find_font

    out = image.convert("RGB")
    ImageDraw.Draw(out).text(origin, text, font=find_font(text).at(size), fill=fill)
    return out


def model_drift(
    edited: Image.Image,
    *,
    zoom: float = 1.01,
    shift: tuple[float, float] = (3.0, -2.0),
    soften: float = 0.8,
    noise: float = 2.0,
    cast: tuple[float, float, float] = (0.0, 0.0, 0.0),
    gain: float = 1.0,
    generation_area: int = 1024 * 1024,
    seed: int = 0,
) -> Image.Image:
    """What a generative model returns for ``edited`` (the edit done perfectly): the picture zoomed
    about its centre and shifted (QwenLM/Qwen-Image issues 160 and 229), regenerated at about
    ``generation_area`` pixels with VAE-like softening (Gaussian blur of ``soften`` px and noise of
    ``noise`` levels at that size) and scaled back with Lanczos, then brightened by ``gain`` and
    cast by ``cast`` (RGB levels). Preservation tests and benchmarks run on this."""
    import cv2

    pixels = np.asarray(edited.convert("RGB")).astype(np.float32)
    height, width = pixels.shape[:2]
    warp = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, zoom)
    warp[:, 2] += shift
    out = cv2.warpAffine(pixels, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    factor = min(1.0, float(np.sqrt(generation_area / (width * height))))
    if factor < 1.0:
        size = (round(width * factor), round(height * factor))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    out = cv2.GaussianBlur(out, (0, 0), soften)
    out += np.random.default_rng(seed).normal(0.0, noise, out.shape).astype(np.float32)
    if factor < 1.0:
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LANCZOS4)
    out = out * gain + np.asarray(cast, np.float32)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
