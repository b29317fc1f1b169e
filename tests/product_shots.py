"""Product shots the tests draw: a red mug with a thin handle and a soft contact shadow on a
near-white studio backdrop (with a little sensor noise), the layout of most marketplace photos."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BACKDROP = (244, 244, 242)
MUG = (200, 30, 40)
#: Where things are in the 160x160 shot: a point on the thin handle, inside its loop, the
#: body's centre, and the shadow under the mug.
HANDLE = (125, 82)
LOOP = (113, 82)
BODY = (75, 80)
SHADOW = (75, 126)


def mug_shot(size: int = 160, seed: int = 0) -> Image.Image:
    """A red mug (a 3-px handle at 160 px) with a contact shadow, on a plain backdrop."""
    s = size / 160
    rng = np.random.default_rng(seed)
    backdrop = np.asarray(BACKDROP, np.float32) + rng.normal(0, 1.2, (size, size, 3))
    shadow = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).ellipse((40 * s, 116 * s, 112 * s, 132 * s), fill=120)
    shadow = shadow.filter(ImageFilter.GaussianBlur(4 * s))
    shade = 1.0 - np.asarray(shadow, np.float32)[..., None] / 255 * 0.45
    image = Image.fromarray((backdrop * shade).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle((45 * s, 40 * s, 105 * s, 122 * s), fill=MUG)
    draw.ellipse((100 * s, 60 * s, 126 * s, 104 * s), outline=MUG, width=max(1, round(3 * s)))
    return image
