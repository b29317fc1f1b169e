"""Global tone adjustments (brightness, contrast, saturation, warmth, sharpness) with Pillow.

Pillow's ``ImageEnhance`` runs in C on the whole image, which keeps a 2048² adjustment well
under a tenth of a second; warmth is a per-channel lookup table for the same reason.
"""

from __future__ import annotations

from PIL import Image, ImageEnhance

from engine.plan import Adjust

# How far a strength of 1.0 moves each enhancer's factor away from 1.0 (no change).
_ENHANCE_RANGE = {"brightness": 0.6, "contrast": 0.7, "saturation": 0.9, "sharpness": 1.5}
_ENHANCERS = {
    "brightness": ImageEnhance.Brightness,
    "contrast": ImageEnhance.Contrast,
    "saturation": ImageEnhance.Color,
    "sharpness": ImageEnhance.Sharpness,
}
_WARMTH_SHIFT = 40  # red/blue shift, in 8-bit levels, at strength 1.0


def apply_adjust(image: Image.Image, adjust: Adjust) -> Image.Image:
    out = image.convert("RGB")
    for field, enhancer in _ENHANCERS.items():
        amount = getattr(adjust, field)
        if amount:
            out = enhancer(out).enhance(max(0.0, 1.0 + amount * _ENHANCE_RANGE[field]))
    if adjust.warmth:
        shift = adjust.warmth * _WARMTH_SHIFT
        red = [min(255, max(0, round(v + shift))) for v in range(256)]
        green = [min(255, max(0, round(v + shift * 0.25))) for v in range(256)]
        blue = [min(255, max(0, round(v - shift))) for v in range(256)]
        out = out.point(red + green + blue)
    return out
