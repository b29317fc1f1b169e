"""Badges the agent added are entities with a box, and "remove that badge" / "把刚才的标签去掉"
removes them on the classic engine: the real agent (rules planner), the tools, the classic
engine, real SQLite. A person checks that the badge is gone (the picture is back close to what it
was there), that nothing outside the badge's box moved, and that the registry knows it is gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

from agent import ChatAgent
from engine.imageio import load_image
from engine.samples import sample_photo
from sessions import EntityInfo, SessionStore
from sessions.db import create_db_engine
from tests.agent_helpers import Step, png_bytes, run_script


def attach_photo(agent: ChatAgent) -> str:
    session = agent.new_session()
    photo = sample_photo("coffee").convert("RGB")
    agent.attach(session, png_bytes(photo.resize((360, 240))), name="coffee.png")
    return session


def pixels(store: SessionStore, image_id: str, number: int) -> np.ndarray:
    version = store.find_version(image_id, str(number))
    return np.asarray(load_image(store.read_version(version)).image.convert("RGB")).astype(np.int16)


def box_pixels(box: dict[str, float], shape: tuple[int, ...], grow: int = 0) -> tuple[slice, slice]:
    height, width = shape[:2]
    x0, x1 = int(box["x0"] * width) - grow, int(np.ceil(box["x1"] * width)) + grow
    y0, y1 = int(box["y0"] * height) - grow, int(np.ceil(box["y1"] * height)) + grow
    return slice(max(0, y0), min(height, y1)), slice(max(0, x0), min(width, x1))


def badge(store: SessionStore, session: str, words: str) -> EntityInfo:
    [entity] = [e for e in store.entities(session) if words in e.name]
    return entity


def assert_removed(store: SessionStore, image_id: str, entity: EntityInfo, before: int, after: int) -> None:
    """The badge added on ``before - 1``..``before`` is gone in ``after``: inside its box the
    picture is close to the one without it, and outside the grown box nothing changed."""
    assert entity.box is not None
    clean, with_badge, removed = (pixels(store, image_id, n) for n in (before - 1, before, after))
    inside = box_pixels(entity.box, clean.shape)
    badge_difference = np.abs(with_badge[inside] - clean[inside]).mean()
    left = np.abs(removed[inside] - clean[inside]).mean()
    assert badge_difference > 20, badge_difference
    assert left < badge_difference / 3, (left, badge_difference)
    outside = np.ones(clean.shape[:2], bool)
    outside[box_pixels(entity.box, clean.shape, grow=6)] = False
    assert np.array_equal(removed[outside], with_badge[outside])


def test_add_and_remove_badges_in_both_languages(agent: ChatAgent) -> None:
    session = attach_photo(agent)
    store = agent.store
    turns = run_script(
        agent,
        session,
        [
            Step('加一个"新品上市"的标签', "edit_image", version=1, parent=0),
            Step(
                "把刚才的标签去掉",
                "edit_image",
                resolved="把“新品上市”标签去掉",
                version=2,
                parent=1,
                reply=("已将第1次编辑中的“新品上市”标签去掉",),
            ),
            Step('add a "SALE" badge in the bottom left', "edit_image", version=3, parent=2),
            Step(
                "remove that badge",
                "edit_image",
                resolved='Remove the "SALE" badge',
                version=4,
                parent=3,
                reply=('I removed the "SALE" badge from edit 3',),
            ),
        ],
    )
    image_id = turns[0].image_id or ""
    new, sale = badge(store, session, "新品上市"), badge(store, session, "SALE")
    assert (new.name, new.category) == ("“新品上市”标签", "graphic/badge")
    assert (sale.name, sale.category) == ('"SALE" badge', "graphic/badge")
    assert sale.box is not None and sale.box["x1"] < 0.5 and sale.box["y0"] > 0.5  # bottom left
    assert_removed(store, image_id, new, before=1, after=2)
    assert_removed(store, image_id, sale, before=3, after=4)
    versions = {v.number: v.id for v in store.versions(image_id)}
    assert (new.removed_version_id, sale.removed_version_id) == (versions[2], versions[4])
    removal = store.version(versions[4])
    assert removal.plan is not None and removal.plan["operations"][0]["op"] == "remove"
    assert removal.resolution["entity"]["id"] == sale.id


@pytest.mark.parametrize(
    ("words", "resolved"),
    [
        ("去掉刚才的标签", "把“新品上市”标签去掉"),
        ("把'新品上市'标签删掉", "把“新品上市”标签去掉"),
        ("把刚才加的标签去掉", "把“新品上市”标签去掉"),
        ("delete the label", "Remove the “新品上市”标签"),
    ],
)
def test_ways_of_asking_resolve_to_the_badge(agent: ChatAgent, words: str, resolved: str) -> None:
    session = attach_photo(agent)
    run_script(
        agent,
        session,
        [
            Step('加一个"新品上市"的标签', "edit_image", version=1),
            Step(words, "edit_image", resolved=resolved, version=2, parent=1),
        ],
    )
    assert badge(agent.store, session, "新品上市").removed_version_id is not None


def test_that_badge_is_the_most_recent_and_the_label_asks_which(agent: ChatAgent) -> None:
    session = attach_photo(agent)
    run_script(
        agent,
        session,
        [
            Step('add a "SALE" badge in the bottom left', "edit_image", version=1),
            Step('add a "NEW" badge in the top right', "edit_image", version=2),
            Step("remove that badge", "edit_image", resolved='Remove the "NEW" badge', version=3, parent=2),
            # The NEW badge is gone from this version: "that badge" is now the remaining one.
            Step("remove that badge", "edit_image", resolved='Remove the "SALE" badge', version=4, parent=3),
            Step("undo", "undo", version=3),
            Step("undo", "undo", version=2),
            # Both are back: "the label" fits two, so the agent asks, most recent first.
            Step("delete the label", None, reply=("Which one", '"NEW" badge', '"SALE" badge')),
            Step("2", "edit_image", resolved='Remove the "SALE" badge', version=5, parent=2),
        ],
    )


def test_a_badge_not_in_the_current_lineage_is_not_removed(agent: ChatAgent) -> None:
    session = attach_photo(agent)
    turns = run_script(
        agent,
        session,
        [
            Step('add a "SALE" badge in the bottom left', "edit_image", version=1),
            Step("go back to the original", "revert", version=0),
        ],
    )
    turn = agent.send(session, "remove that badge")
    assert [call["name"] for call in turn.tool_calls] == ["edit_image"]
    assert "not in the history of version 0" in turn.reply
    image_id = turns[0].image_id or ""
    assert agent.store.head(image_id).number == 0
    assert [v.number for v in agent.store.versions(image_id)] == [0, 1]
    assert badge(agent.store, session, "SALE").removed_version_id is None


def test_an_older_database_gains_the_new_entity_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as db:
        db.execute(text("CREATE TABLE entities (id VARCHAR(64) PRIMARY KEY, name VARCHAR(300))"))
    old.dispose()
    engine = create_db_engine(path)
    assert "removed_version_id" in {c["name"] for c in inspect(engine).get_columns("entities")}
    engine.dispose()
