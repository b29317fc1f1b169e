"""An optional language-model parser (``IMGEDIT_LLM=openai``) for any OpenAI-compatible server.

The model is asked for the plan as JSON, which is validated into the same typed operations the
rules produce. The model can phrase things the rules cannot; the rules cannot hallucinate. So
any failure here (no server, an HTTP error, invalid JSON, an unknown theme) is logged and the
rule-based parser answers instead: configuring an LLM never makes parsing less available.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from engine.parsing.language import instruction_language
from engine.parsing.options import ParseOptions
from engine.plan import EditPlan, Operation, Theme
from engine.themes import ThemeSpec
from imgedit.config import Settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class _LLMPlan(BaseModel):
    operations: list[Operation] = Field(min_length=1)


def system_prompt(themes: list[ThemeSpec]) -> str:
    """What the model is told: the operation schema, the places, the themes and the output shape."""
    schema = json.dumps(TypeAdapter(list[Operation]).json_schema(), ensure_ascii=False)
    theme_names = ", ".join(f"{theme.name} ({theme.name_en} / {theme.name_zh})" for theme in themes)
    return (
        "You turn an image-editing instruction (Chinese or English) into a JSON edit plan.\n"
        'Answer with one JSON object and nothing else: {"operations": [ ... ]}, the operations in the '
        "order the instruction gives them. Each operation matches this JSON schema:\n"
        f"{schema}\n"
        "Colours are English names ('red', 'navy', 'light blue'). Rotation degrees follow Pillow: "
        "positive is counter-clockwise, so 'rotate 90 degrees clockwise' is -90. "
        f"Theme names are one of: {theme_names}. "
        "Use 'generative' for edits that need a generative model (new garments, new objects, new scenes)."
    )


def _request_body(
    instruction: str, themes: list[ThemeSpec], options: ParseOptions, model: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": system_prompt(themes)},
            {"role": "user", "content": instruction},
        ],
        "temperature": options.temperature if options.temperature is not None else 0.0,
        "stream": False,
    }
    if options.top_k is not None:
        body["top_k"] = options.top_k  # accepted by vLLM, SGLang and llama.cpp servers
    if options.max_new_tokens is not None:
        body["max_tokens"] = options.max_new_tokens
    return body


def _plan_from_content(content: str, instruction: str, themes: list[ThemeSpec]) -> EditPlan:
    """Validate the model's answer; raises ``ValueError`` (or ``ValidationError``) when unusable."""
    match = _JSON_OBJECT.search(content)
    if match is None:
        raise ValueError("the answer holds no JSON object")
    plan = _LLMPlan.model_validate_json(match.group(0))
    slugs = {theme.name for theme in themes}
    for op in plan.operations:
        if isinstance(op, Theme) and op.name not in slugs:
            raise ValueError(f"unknown theme '{op.name}'")
    operations = [
        op if op.source else op.model_copy(update={"source": instruction}) for op in plan.operations
    ]
    return EditPlan(
        instruction=instruction, operations=operations, language=instruction_language(instruction)
    )


def parse_with_llm(
    instruction: str, themes: list[ThemeSpec], *, options: ParseOptions, settings: Settings
) -> EditPlan | None:
    """The model's plan for ``instruction``, or ``None`` (logged) when anything goes wrong."""
    if not settings.llm_base_url:
        logger.warning("IMGEDIT_LLM=openai but IMGEDIT_LLM_BASE_URL is not set; parsing with the rules")
        return None
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {settings.llm_api_key or 'EMPTY'}"}
    body = _request_body(instruction, themes, options, settings.llm_model or "default")
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        return _plan_from_content(str(content), instruction, themes)
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError, ValidationError) as exc:
        logger.warning("LLM instruction parsing failed (%s); parsing with the rules", exc)
        return None
