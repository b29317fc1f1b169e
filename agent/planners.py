"""The planner model behind ``IMGEDIT_LLM``: ``rules`` (offline, default) or ``openai``.

``openai`` is ``ChatOpenAI`` against any OpenAI-compatible server (vLLM serving Qwen, Ollama),
with ``temperature``, ``top_k`` and ``max_new_tokens`` passed through. ``top_k`` is not an
OpenAI parameter, so it goes in the request body where vLLM and Ollama read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from agent.rules import RulesChatModel
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float | None = None
    top_k: int | None = None
    max_new_tokens: int | None = None


def build_planner(
    kind: str | None = None, *, settings: Settings | None = None, sampling: SamplingOptions | None = None
) -> BaseChatModel:
    """The planner model called ``kind`` (default ``IMGEDIT_LLM``)."""
    settings = settings or get_settings()
    kind = kind or settings.llm
    if kind == "rules":
        return RulesChatModel()
    if kind == "openai":
        return build_openai_planner(settings=settings, sampling=sampling)
    raise BadInputError(f"Unknown planner '{kind}'; IMGEDIT_LLM must be 'rules' or 'openai'.")


def build_openai_planner(
    *, settings: Settings | None = None, sampling: SamplingOptions | None = None
) -> BaseChatModel:
    """``ChatOpenAI`` on ``IMGEDIT_LLM_BASE_URL``; ``BadInputError`` when it is not configured."""
    settings = settings or get_settings()
    sampling = sampling or SamplingOptions()
    if not settings.llm_base_url or not settings.llm_model:
        raise BadInputError(
            "The openai planner needs a server and a model.",
            hint="Set IMGEDIT_LLM_BASE_URL (e.g. http://localhost:8001/v1) and IMGEDIT_LLM_MODEL.",
        )
    from langchain_openai import ChatOpenAI

    extra_body = {"top_k": sampling.top_k} if sampling.top_k is not None else None
    return ChatOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "EMPTY",  # type: ignore[arg-type]
        model=settings.llm_model,
        temperature=sampling.temperature,
        max_tokens=sampling.max_new_tokens,  # type: ignore[call-arg]
        extra_body=extra_body,
        use_responses_api=False,
        max_retries=1,
        timeout=120,
    )
