"""Sampling options for an instruction-parsing language model, when one is configured."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParseOptions:
    """The keyword names the Qwen-Image-Edit-2509 guides use; ignored by the rule-based parser."""

    temperature: float | None = None
    top_k: int | None = None
    max_new_tokens: int | None = None
