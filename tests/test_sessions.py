"""The session store on real SQLite files and a real blob folder: version graph, undo/redo,
branches, revert, entities, tenants and the JSON audit export."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from PIL import Image

from imgedit.errors import BadInputError, NotFoundError
from sessions import FileBlobStore, SessionStore


def png(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "imgedit.db", tmp_path / "blobs")


def test_blob_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    data = png((255, 0, 0))
    first = blobs.put(data)
    second = blobs.put(data)
    assert first == second
    path = blobs.path(first)
    assert path.relative_to(tmp_path / "blobs").parts == (first[:2], first[2:4], first)
    assert blobs.get(first) == data
    assert len(blobs) == 1
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))
    with pytest.raises(NotFoundError):
        blobs.path("../etc/passwd")


def test_blob_store_parallel_writers_store_one_copy(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    data = png((1, 2, 3), (200, 200))
    threads = [threading.Thread(target=blobs.put, args=(data,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(blobs) == 1


def test_database_uses_wal_and_foreign_keys(tmp_path: Path, store: SessionStore) -> None:
    store.create_session()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    tables = {
        r[0] for r in sqlite3.connect(tmp_path / "imgedit.db").execute("select name from sqlite_master")
    }
    assert {"sessions", "messages", "images", "versions", "entities", "head_moves"} <= tables


def test_default_store_lives_under_imgedit_home(imgedit_home: Path) -> None:
    store = SessionStore.default()
    session = store.create_session()
    store.add_image(session.id, png((0, 0, 0)))
    assert (imgedit_home / "imgedit.db").is_file()
    assert len(FileBlobStore(imgedit_home / "blobs")) == 1


def test_version_graph_undo_redo_branch_and_revert(store: SessionStore) -> None:
    session = store.create_session()
    image, v0 = store.add_image(session.id, png((255, 0, 0)), name="red.png")
    assert (image.position, v0.number, v0.parent_id, v0.width, v0.height) == (1, 0, None, 32, 24)
    v1 = store.add_version(v0.id, png((0, 255, 0)), instruction="make it green", engine="classic", seed=3)
    v2 = store.add_version(v1.id, png((0, 0, 255)), instruction="make it blue", engine="classic")
    assert store.head(image.id).id == v2.id

    assert store.undo(image.id).id == v1.id
    assert store.undo(image.id).id == v0.id
    with pytest.raises(BadInputError, match="Nothing to undo"):
        store.undo(image.id)
    assert store.redo(image.id).id == v1.id

    # An edit after undo starts a branch from v1; v2 is kept but redo is no longer possible.
    v3 = store.add_version(v1.id, png((9, 9, 9)), instruction="make it grey")
    assert (v3.parent_id, v3.number) == (v1.id, 3)
    with pytest.raises(BadInputError, match="Nothing to redo"):
        store.redo(image.id)
    assert [v.id for v in store.versions(image.id)] == [v0.id, v1.id, v2.id, v3.id]

    assert store.revert(image.id, v2.id).id == v2.id
    assert store.head(image.id).id == v2.id
    assert store.find_version(image.id, "original").id == v0.id
    assert store.find_version(image.id, "原图").id == v0.id
    assert store.find_version(image.id, "v3").id == v3.id
    assert store.find_version(image.id, v1.id).id == v1.id
    with pytest.raises(NotFoundError):
        store.find_version(image.id, "9")
    assert store.read_version(v1) == png((0, 255, 0))


def test_images_are_numbered_per_session_and_sessions_are_isolated(store: SessionStore) -> None:
    a = store.create_session()
    b = store.create_session(tenant="acme")
    img_a1, _ = store.add_image(a.id, png((1, 1, 1)))
    img_a2, _ = store.add_image(a.id, png((2, 2, 2)))
    img_b1, _ = store.add_image(b.id, png((3, 3, 3)))
    assert [img_a1.position, img_a2.position, img_b1.position] == [1, 2, 1]
    assert [i.id for i in store.images(a.id)] == [img_a1.id, img_a2.id]
    with pytest.raises(NotFoundError):
        store.image(img_b1.id, session_id=a.id)
    with pytest.raises(NotFoundError):
        store.get_session(b.id, tenant="local")
    assert store.get_session(b.id, tenant="acme").tenant == "acme"
    assert [s.id for s in store.list_sessions()] == [a.id]


def test_entities_are_created_updated_and_listed_most_recent_first(store: SessionStore) -> None:
    session = store.create_session()
    image, v0 = store.add_image(session.id, png((5, 5, 5)))
    v1 = store.add_version(v0.id, png((6, 6, 6)), instruction="换成蓝色长袖衬衫")
    shirt = store.record_entity(
        session.id, image_id=image.id, version_id=v1.id, name="蓝色长袖衬衫", category="clothing/shirt"
    )
    logo = store.record_entity(
        session.id, image_id=image.id, version_id=v1.id, name="logo", category="graphic"
    )
    v2 = store.add_version(v1.id, png((7, 7, 7)), instruction="换成条纹款")
    striped = store.record_entity(
        session.id, image_id=image.id, version_id=v2.id, name="条纹衬衫", entity_id=shirt.id
    )
    assert striped.id == shirt.id
    assert striped.category == "clothing/shirt"
    assert striped.history == [
        {"name": "蓝色长袖衬衫", "category": "clothing/shirt", "version_id": v1.id, "box": None}
    ]
    assert [e.id for e in store.entities(session.id)] == [shirt.id, logo.id]


def test_audit_export_is_json(store: SessionStore) -> None:
    session = store.create_session(title="demo")
    image, v0 = store.add_image(session.id, png((5, 5, 5)))
    store.add_message(session.id, "user", "把刚才那件衣服换成条纹款")
    v1 = store.add_version(
        v0.id,
        png((8, 8, 8)),
        instruction="把刚才那件衣服换成条纹款",
        resolved_instruction="把蓝色长袖衬衫换成条纹款",
        plan={"operations": [{"op": "generative"}]},
        engine="qwen",
        seed=7,
        timings={"engine": 0.2},
        author="agent",
        resolution={"entity": "蓝色长袖衬衫", "from_version": 0},
    )
    store.undo(image.id)
    record = store.version_audit(v1.id)
    assert record["resolved_instruction"] == "把蓝色长袖衬衫换成条纹款"
    assert record["parent_id"] == v0.id
    assert record["seed"] == 7
    assert record["is_head"] is False
    assert len(record["blob_sha256"]) == 64
    audit = json.loads(json.dumps(store.session_audit(session.id)))
    assert audit["session"]["title"] == "demo"
    assert [m["text"] for m in audit["messages"]] == ["把刚才那件衣服换成条纹款"]
    assert [v["number"] for v in audit["images"][0]["versions"]] == [0, 1]
    assert [m["action"] for m in audit["head_moves"]] == ["upload", "edit", "undo"]


def test_bad_bytes_are_refused_clearly(store: SessionStore) -> None:
    session = store.create_session()
    with pytest.raises(BadInputError, match="could not be read"):
        store.add_image(session.id, b"not an image")
    with pytest.raises(NotFoundError):
        store.add_image("missing", png((0, 0, 0)))
