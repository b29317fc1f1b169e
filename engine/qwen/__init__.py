"""The ``qwen`` backend: Qwen-Image-Edit-2509 through diffusers (GPU; runs on the CPU too, slowly).

Importing this package is cheap; torch, diffusers and transformers are imported when a pipeline
is first loaded. See docs/qwen.md for deployment.
"""

from engine.qwen.backend import QwenEngine

__all__ = ["QwenEngine"]
