"""Where things are in the drawn product shot (``engine.samples.product_shot``, 160x160): a point
on the thin handle, inside its loop, the body's centre, and the contact shadow under the mug."""

from __future__ import annotations

from engine.samples import PRODUCT_BACKDROP as BACKDROP
from engine.samples import PRODUCT_COLOR as MUG
from engine.samples import product_shot as mug_shot

HANDLE = (125, 82)
LOOP = (113, 82)
BODY = (75, 80)
SHADOW = (75, 126)

__all__ = ["BACKDROP", "BODY", "HANDLE", "LOOP", "MUG", "SHADOW", "mug_shot"]
