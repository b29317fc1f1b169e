"""An image-only Qwen2-VL processor, so the pipeline loads without torchvision.

The pipeline's text encoder (Qwen2.5-VL) reads each input image through a ``Qwen2VLProcessor``.
With transformers 5 that processor also requires a *video* processor, and the video processor
imports torchvision, which this project does not otherwise need (and which must match the exact
torch build). The edit pipeline never passes videos, so this subclass carries only the image
processor (the PIL/numpy ``Qwen2VLImageProcessor`` works without torchvision) and the tokenizer.
It reads the same ``processor/`` folder as the real one, so a stock Qwen-Image-Edit-2509
download works unchanged.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2VLProcessor
from transformers.processing_utils import ProcessorMixin


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """``Qwen2VLProcessor`` without the video processor (images and text only)."""

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        chat_template: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Qwen2VLProcessor.__init__ would hand a video processor to ProcessorMixin; set up the
        # same token attributes here and register only the two sub-processors we carry.
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = getattr(tokenizer, "image_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.image_token
        )
        self.video_token_id = getattr(tokenizer, "video_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.video_token
        )
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
