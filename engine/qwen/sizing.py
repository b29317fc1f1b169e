"""Choosing the size the qwen model generates at.

Qwen-Image-Edit works near one megapixel, at sides that are multiples of 16 (the VAE's factor of
8 times the transformer's 2x2 patches). Left alone, the pipeline picks about 1024x1024 at the
*last* input image's aspect and floors to 16, so the result neither matches the edited image's
aspect nor its size. We pick the size ourselves from the edited (first) image, at sides that are
multiples of 32 (which the pipeline also uses for its inputs), and the backend maps the result
back to the input's exact size afterwards.
"""

from __future__ import annotations

import math

#: The area Qwen-Image-Edit-2509 was trained to generate at (about 1 MP).
DEFAULT_TARGET_AREA = 1024 * 1024
#: Sides are rounded to this multiple.
SIDE_MULTIPLE = 32


def generation_size(
    size: tuple[int, int], target_area: int = DEFAULT_TARGET_AREA, multiple: int = SIDE_MULTIPLE
) -> tuple[int, int]:
    """``(width, height)`` of about ``target_area`` pixels at ``size``'s aspect, sides a ``multiple``.

    Each side is at least one ``multiple``, so extreme aspects (a 20:1 banner) stay valid.
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"An image size must be positive, got {width}x{height}.")
    aspect = width / height
    ideal_width = math.sqrt(target_area * aspect)
    ideal_height = ideal_width / aspect
    return (
        max(multiple, round(ideal_width / multiple) * multiple),
        max(multiple, round(ideal_height / multiple) * multiple),
    )


def megapixels(size: tuple[int, int]) -> float:
    return size[0] * size[1] / 1_000_000
