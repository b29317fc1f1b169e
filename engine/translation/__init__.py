"""Translating the text in a picture: a plan source that reads the picture, not only the words.

"translate the text into English" / "把文字翻译成英文" names no text, so the rule parser cannot plan
it; here OCR finds the phrases, an approved glossary (and, when configured, a language model)
gives their translations, and the result is an ordinary ``EditPlan`` of ``TextReplace``
operations that any engine able to replace text executes. Phrases with no translation are
reported, never guessed.
"""

from engine.translation.glossary import Glossary, load_glossary
from engine.translation.intent import TargetLanguage, translation_target
from engine.translation.planner import PhraseTranslation, TranslationPlan, plan_translation

__all__ = [
    "Glossary",
    "PhraseTranslation",
    "TargetLanguage",
    "TranslationPlan",
    "load_glossary",
    "plan_translation",
    "translation_target",
]
