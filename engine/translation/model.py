"""Phrases the glossary lacks, translated by an OpenAI-compatible model (``IMGEDIT_LLM=openai``).

One request per picture carries every missing phrase and the glossary's pairs (so approved terms
are kept inside longer phrases); the answer must be a JSON object from phrase to translation.
Anything short of that (no server, an HTTP error, a phrase missing from the answer) leaves the
phrase untranslated: a wrong price or slogan on a product picture costs more than a gap.
Answers are remembered per process, since a catalogue repeats its banners.
"""

from __future__ import annotations

import json
import logging
import re
import threading

from engine.translation.glossary import Glossary
from engine.translation.intent import LANGUAGE_NAMES, TargetLanguage
from imgedit.config import Settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
#: Glossary pairs sent along with a request; a brand glossary can be long, a prompt should not be.
MAX_GLOSSARY_HINTS = 200
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)

_cache: dict[tuple[str, str, str], str] = {}
_cache_lock = threading.Lock()


def model_configured(settings: Settings) -> bool:
    return settings.llm == "openai" and bool(settings.llm_base_url)


def _prompt(target: TargetLanguage, glossary: Glossary) -> str:
    english, _ = LANGUAGE_NAMES[target]
    terms = "\n".join(
        f"{source} => {translation}" for source, translation in glossary.pairs[:MAX_GLOSSARY_HINTS]
    )
    return (
        f"You translate short texts from product pictures (banners, price tags, badges) into {english}. "
        "Keep numbers, prices and brand names exactly as written. Use these approved translations "
        f"for the terms they cover:\n{terms or '(none)'}\n"
        'Answer with one JSON object and nothing else: {"<text as given>": "<translation>", ...}, '
        "one entry for every text you are given."
    )


def translate_with_model(
    phrases: list[str], target: TargetLanguage, glossary: Glossary, settings: Settings
) -> dict[str, str]:
    """Translations of ``phrases`` the model gave; phrases it did not translate are left out."""
    key = glossary.digest
    with _cache_lock:
        known = {p: _cache[(key, target, p)] for p in phrases if (key, target, p) in _cache}
    missing = [p for p in dict.fromkeys(phrases) if p not in known]
    if not missing or not settings.llm_base_url:
        return known
    body = {
        "model": settings.llm_model or "default",
        "messages": [
            {"role": "system", "content": _prompt(target, glossary)},
            {"role": "user", "content": json.dumps(missing, ensure_ascii=False)},
        ],
        "temperature": 0.0,
        "stream": False,
    }
    import httpx  # here: a batch without a model should not pay for importing it

    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {settings.llm_api_key or 'EMPTY'}"}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        content = str(response.json()["choices"][0]["message"]["content"])
        match = _JSON_OBJECT.search(content)
        answer = json.loads(match.group(0)) if match else {}
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        logger.warning("translation by the model failed (%s); the phrases stay untranslated", exc)
        return known
    found = {
        phrase: text.strip()
        for phrase in missing
        if isinstance(text := answer.get(phrase) if isinstance(answer, dict) else None, str) and text.strip()
    }
    with _cache_lock:
        _cache.update({(key, target, phrase): text for phrase, text in found.items()})
    return {**known, **found}
