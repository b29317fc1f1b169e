"""Real photographs for demos, benchmarks and tests, from scikit-image's wheel (offline)."""

from __future__ import annotations

import numpy as np
from PIL import Image

SAMPLE_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "cat")


def sample_photo(name: str = "astronaut") -> Image.Image:
    """An RGB photograph by its ``skimage.data`` name (astronaut, coffee, chelsea, ...)."""
    from skimage import data

    array = getattr(data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return Image.fromarray(array[..., :3].astype(np.uint8))
