"""The typed job layer: every kind's params cross as JSON; a kind runs under any host (a worker
as well as the server) with its effects once per job; session edits over REST are recorded by the
same use case as the agent's (resolution, author, entities); chat messages accept an
``Idempotency-Key``. Real server (uvicorn on 127.0.0.1), real agent (rules planner), classic engine."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine import Editor
from engine.plan import EditPlan, Theme
from engine.samples import sample_photo
from engine.types import CancelToken
from imgedit.config import Settings, get_settings
from jobs.base import JobKind, JobParams, TurnFunction
from jobs.batch import BATCH, BatchParams
from jobs.batch_review import BATCH_REVIEW, ReviewEntry, ReviewParams
from jobs.chat import CHAT, ChatParams
from jobs.deck import DECK, DeckParams
from jobs.edit import EDIT, EditParams, EditProduct, EditTask, perform_edit
from jobs.figma import FIGMA, FigmaItem, FigmaParams
from jobs.kinds import KINDS
from sessions import SessionStore, create_sessionmaker
from tests.server_harness import LiveServer, Storage, png_bytes, wait_for_job
from tests.test_agent_badges import assert_removed, badge
from tools.context import ToolContext
from tools.operations import SessionTools


@pytest.fixture(scope="module")
def live(storage: Storage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Once per storage (embedded, PostgreSQL + S3)."""
    with LiveServer(storage.settings(tmp_path_factory.mktemp("jobs-home"))) as server:
        yield server


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return live.key("acme")


def new_session(client: httpx.Client) -> tuple[str, str]:
    session_id = client.post("/v1/sessions").json()["id"]
    photo = png_bytes(sample_photo("coffee").convert("RGB").resize((360, 240)))
    added = client.post(
        f"/v1/sessions/{session_id}/images", files={"file": ("coffee.png", photo, "image/png")}
    )
    assert added.status_code == 201, added.text
    return session_id, added.json()["image_id"]


def test_every_kind_has_json_params_and_a_pool() -> None:
    plan = EditPlan(instruction="theme:retro", operations=[Theme(name="retro")])
    item = FigmaItem(item_id="i1", node_id="1:2", paint_index=0, image_hash="h", upload_id="a" * 64)
    examples: list[tuple[JobKind[Any], JobParams, str]] = [
        (EDIT, EditParams(instruction="make it brighter", engine="classic", seed=3), "cpu"),
        (EDIT, EditParams(instruction="add a cat", engine="qwen"), "gpu"),
        (CHAT, ChatParams(session_id="s", text="把它调亮", image_ids=["i"]), "cpu"),
        (DECK, DeckParams(theme="retro", engine="qwen", filename="talk.pptx", slide_count=3), "gpu"),
        (FIGMA, FigmaParams(plan=plan, theme="retro", items=[item]), "cpu"),
        (
            BATCH,
            BatchParams(
                prompt="把文字翻译成英文", glossary="限时优惠,Limited Offer\n", filename="cn.zip", items=3
            ),
            "cpu",
        ),
        (
            BATCH_REVIEW,
            ReviewParams(
                batch_job_id="job_1",
                filename="spring-edited.zip",
                entries=[
                    ReviewEntry(item=0, output="a.png", outcome="approved", blob="b" * 64),
                    ReviewEntry(item=1, output="b.png", outcome="left_out"),
                ],
            ),
            "cpu",
        ),
    ]
    assert {kind.name for kind, _, _ in examples} == set(KINDS)
    for kind, params, pool in examples:
        carried = json.loads(json.dumps(params.model_dump(mode="json")))  # what a broker would carry
        assert kind.parse(carried) == params
        assert kind.pool(params) == pool


def test_rest_session_edit_is_audited_and_its_badge_can_be_removed_in_chat(
    live: LiveServer, key: str
) -> None:
    """A badge added over REST is in the entity registry, so "remove that badge" in chat finds it."""
    with live.client(key) as client:
        session_id, image_id = new_session(client)
        job = client.post(
            f"/v1/sessions/{session_id}/edits", json={"instruction": 'add a "SALE" badge in the bottom left'}
        )
        done = wait_for_job(client, job.json()["job_id"])
        assert done["status"] == "done", done
        audit = client.get(f"/v1/versions/{done['result']['version_id']}").json()
        assert audit["author"].startswith("key:")
        assert audit["resolution"]["user_text"] == 'add a "SALE" badge in the bottom left'
        assert (audit["resolution"]["image_id"], audit["resolution"]["from_version"]) == (image_id, 0)

        turn = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "remove that badge"})
        assert turn.status_code == 200, turn.text
        removed = client.get(f"/v1/versions/{turn.json()['version_id']}").json()
        assert removed["number"] == 2 and removed["parent_id"] == done["result"]["version_id"]
        assert "SALE" in removed["resolution"]["entity"]["name"]
    store = live.app.state.ctx.store
    entity = badge(store, session_id, "SALE")
    assert entity.removed_version_id == removed["id"]
    assert_removed(store, image_id, entity, before=1, after=2)


def test_chat_message_idempotency_key_answers_once_and_refuses_another_request(
    live: LiveServer, key: str
) -> None:
    with live.client(key) as client:
        session_id, _ = new_session(client)
        url = f"/v1/sessions/{session_id}/messages"
        headers = {"Idempotency-Key": "brighter-1"}
        first = client.post(url, json={"text": "make it brighter"}, headers=headers)
        again = client.post(url, json={"text": "make it brighter"}, headers=headers)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.json()["job_id"] == first.json()["job_id"]
        assert again.json()["version_id"] == first.json()["version_id"]
        other = client.post(url, json={"text": "make it darker"}, headers=headers)
        assert other.status_code == 409 and other.json()["code"] == "conflict", other.text
        session = client.get(f"/v1/sessions/{session_id}").json()
        assert [v["number"] for v in session["images"][0]["versions"]] == [0, 1]
        assert [m["role"] for m in session["messages"]] == ["user", "assistant"]


@dataclass
class WorkerHost:
    """A host that is not the server: the context a worker on another machine would give a job."""

    job_id: str
    input_blob: str | None
    store: SessionStore
    settings: Settings
    started: float = field(default_factory=time.perf_counter)
    cancel: CancelToken = field(default_factory=CancelToken)
    steps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def db(self) -> sessionmaker[DbSession]:
        return create_sessionmaker(self.store.engine)

    def progress(self, done: int, total: int) -> None:
        self.steps.append((done, total))

    def editor(self, engine: str) -> Editor:
        return Editor(engine=engine, settings=self.settings)

    def perform_edit(self, task: EditTask) -> EditProduct:
        editor = self.editor(task.params.engine)
        return perform_edit(
            editor, self.store.blobs, self.settings, task, progress=self.progress, cancel=self.cancel
        )

    def chat_turns(self) -> TurnFunction:
        raise AssertionError("no chat here")


def test_a_session_edit_job_redelivered_to_another_worker_makes_one_audited_version() -> None:
    """The edit kind needs nothing of the server: run twice under one job id (a broker's
    redelivery), it makes one version, with its resolution and author, and the second run
    answers with that version."""
    settings = get_settings()
    store = SessionStore(settings=settings)
    session = store.create_session(tenant="acme")
    image, original = store.add_image(session.id, png_bytes(sample_photo("coffee").resize((160, 120))))
    params = EditParams(
        instruction="make it brighter",
        session_id=session.id,
        image_id=image.id,
        parent_version_id=original.id,
        author="key:worker-test",
    )
    carried = json.loads(json.dumps(params.model_dump(mode="json")))
    first = WorkerHost("job_redelivered", original.blob, store, settings)
    again = WorkerHost("job_redelivered", original.blob, store, settings)
    outcomes = [EDIT.execute(carried, first), EDIT.execute(carried, again)]
    assert outcomes[0].result["version_id"] == outcomes[1].result["version_id"]
    assert [v.number for v in store.versions(image.id)] == [0, 1]
    version = store.head(image.id)
    assert version.author == "key:worker-test" and version.resolution["from_version_id"] == original.id
    assert first.steps and not again.steps  # the second run did no image work


def test_a_chat_turns_undo_and_revert_run_again_under_their_job_move_the_head_once(classic: Editor) -> None:
    """A turn killed after its undo committed, before the agent's checkpoint kept the tool's
    answer, runs that tool call again on restart: the head moves once and the answer is the same.
    Two undo calls of one turn ("go back two steps") are two steps."""
    store = SessionStore(settings=get_settings())
    session = store.create_session(tenant="acme")
    photo = sample_photo("coffee").resize((64, 48))
    image, original = store.add_image(session.id, png_bytes(photo))
    v1 = store.add_version(original.id, png_bytes(photo.rotate(90)), instruction="one")
    v2 = store.add_version(v1.id, png_bytes(photo.rotate(180)), instruction="two")
    v3 = store.add_version(v2.id, png_bytes(photo.rotate(270)), instruction="three")
    tools = SessionTools(ToolContext(session_id=session.id, store=store, editor=classic, job_id="job_7"))

    first = tools.undo(call_id="call_a")
    again = tools.undo(call_id="call_a")  # the same call of the same job, run again
    assert store.head(image.id).id == v2.id
    assert (
        (first.version, first.data["previous_head"]) == (again.version, again.data["previous_head"]) == (2, 3)
    )
    tools.undo(call_id="call_b")  # the turn's second undo is a step of its own
    assert store.head(image.id).id == v1.id

    tools.revert(v3.number, call_id="call_c")
    tools.undo(call_id="call_d")
    tools.revert(v3.number, call_id="call_c")  # re-run: no second revert over the later undo
    assert store.head(image.id).id == v2.id
    moves = [m["action"] for m in store.session_audit(session.id)["head_moves"]]
    assert moves.count("undo") == 3 and moves.count("revert") == 1
