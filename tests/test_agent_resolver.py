"""The pieces of reference resolution on their own: lexicon, entity extraction, clean-up of
image/version words, answers to "which one?", and the intents."""

from __future__ import annotations

import pytest

from agent.intents import detect_intent
from agent.references import ReferenceResolver
from agent.rules import strip_references, theme_words
from engine.plan import EditPlan, Generative, Operation, Recolor, TextReplace
from sessions import EntityInfo
from tools.entities import extract_entities
from tools.lexicon import category_matches, category_of


@pytest.mark.parametrize(
    ("phrase", "category"),
    [
        ("蓝色长袖衬衫", "clothing/shirt"),
        ("刚才那件衣服", "clothing"),
        ("the blue long-sleeve shirt", "clothing/shirt"),
        ("红色连衣裙", "clothing/dress"),
        ("条纹款", ""),
    ],
)
def test_lexicon_categories(phrase: str, category: str) -> None:
    assert category_of(phrase) == category


def test_general_words_cover_their_kinds() -> None:
    assert category_matches("clothing", "clothing/shirt")
    assert category_matches("clothing/dress", "clothing/dress")
    assert not category_matches("clothing/shirt", "clothing/dress")


def test_entities_from_recolour_generative_and_text() -> None:
    def plan(*operations: Operation) -> EditPlan:
        return EditPlan(instruction="x", operations=list(operations))

    recolor = plan(Recolor(target="连衣裙", to_color="blue"))
    assert [(e.name, e.category) for e in extract_entities(recolor, language="zh")] == [
        ("蓝色连衣裙", "clothing/dress")
    ]
    shirt = plan(Generative(description="换成蓝色长袖衬衫"))
    assert [(e.name, e.category) for e in extract_entities(shirt, language="zh")] == [
        ("蓝色长袖衬衫", "clothing/shirt")
    ]
    target = EntityInfo(
        id="e1",
        session_id="s",
        image_id="i",
        version_id="v",
        name="蓝色长袖衬衫",
        category="clothing/shirt",
        box=None,
    )
    stripes = plan(Generative(description="把蓝色长袖衬衫换成条纹款"))
    [named] = extract_entities(stripes, target=target, language="zh")
    assert (named.name, named.category, named.updates) == ("条纹长袖衬衫", "clothing/shirt", "e1")
    english = plan(Generative(description="Change his top to a blue long-sleeve shirt"))
    assert [e.name for e in extract_entities(english)] == ["blue long-sleeve shirt"]
    text = plan(TextReplace(old="SALE", new="NEW"))
    assert [(e.name, e.category) for e in extract_entities(text)] == [("'NEW'", "text")]


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("把第一张图的红色连衣裙换成蓝色", "把红色连衣裙换成蓝色"),
        ("第二张从原图开始调亮一点", "调亮一点"),
        ("Make the dress in the second image green", "Make the dress green"),
        ("Starting from the original, make it brighter", "Make it brighter"),
    ],
)
def test_image_and_version_words_are_removed(text: str, clean: str) -> None:
    assert strip_references(text) == clean


def test_answers_to_which_one() -> None:
    dress = EntityInfo("d", "s", "i", "v1", "purple dress", "clothing/dress", None)
    shirt = EntityInfo("t", "s", "i", "v2", "green shirt", "clothing/shirt", None)
    for answer, chosen in [("2", shirt), ("第一个", dress), ("the shirt", shirt), ("the second one", shirt)]:
        assert ReferenceResolver.pick(answer, [dress, shirt]) is chosen
    assert ReferenceResolver.pick("neither", [dress, shirt]) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("undo that", "undo"),
        ("撤销", "undo"),
        ("重做", "redo"),
        ("use the original instead", "revert"),
        ("回到原图", "revert"),
        ("从原图开始把红色连衣裙换成蓝色", "edit"),
        ("看看历史版本", "list"),
        ("和上一版对比一下", "compare"),
        ("套用复古主题", "theme"),
        ("hello", "help"),
        ("把上衣换成蓝色长袖衬衫", "edit"),
    ],
)
def test_intents(text: str, kind: str) -> None:
    assert detect_intent(text, theme_words()).kind == kind
