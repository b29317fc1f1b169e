"""Shared test fixtures: an isolated IMGEDIT_HOME per test, real photographs from skimage, and the
real PostgreSQL, Redis and S3 servers (cluster/servers.py) the service tests also run against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from cluster.servers import S3_ACCESS_KEY, S3_SECRET_KEY, PostgresServer, RedisServer, S3Server
from engine import Editor
from engine.samples import sample_photo
from imgedit.config import Settings, get_settings

if TYPE_CHECKING:
    from agent import ChatAgent
    from tests.server_harness import Storage

# The S3 test server's credentials, as the standard AWS variables, for the whole run: the classic
# edit workers are forked from a process started at the first edit, and inherit its environment.
os.environ.update(
    AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY, AWS_DEFAULT_REGION="us-east-1"
)
#: Settings that choose the storage: cleared for every test, so a developer's shell never leaks in.
STORAGE_VARIABLES = (
    "IMGEDIT_DATABASE_URL",
    "IMGEDIT_BLOB_URL",
    "IMGEDIT_S3_ENDPOINT_URL",
    "IMGEDIT_PRESIGNED_RESULTS",
    "IMGEDIT_WORK_DIR",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` need a CUDA GPU (scripts/gpu-check.sh runs them on a lent one); where
    there is none they are deselected, not run and not skipped."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    config.hook.pytest_deselected(items=gpu)
    items[:] = [item for item in items if not item.get_closest_marker("gpu")]


@pytest.fixture(autouse=True)
def imgedit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder and fresh settings; the NSFW check stays on only
    where a test turns it on (it is exercised by tests/test_safety.py)."""
    home = tmp_path / "imgedit-home"
    monkeypatch.setenv("IMGEDIT_HOME", str(home))
    monkeypatch.setenv("IMGEDIT_NSFW_CHECK", "0")
    for key in (
        "IMGEDIT_ENGINE",
        "IMGEDIT_QWEN_MODEL",
        "IMGEDIT_LLM",
        "IMGEDIT_MAX_EDIT_AREA",
        *STORAGE_VARIABLES,
    ):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


# -- real database and object-store servers, started once per run -----------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer.start(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["embedded", "postgres+s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """Each service test module runs once per storage: embedded (SQLite and files in the home
    folder) and PostgreSQL + S3 (nothing in the home folder)."""
    from tests.server_harness import EMBEDDED, Storage  # the server loads only for service tests

    if request.param == EMBEDDED:
        return Storage()
    return Storage(request.param, request.getfixturevalue("postgres"), request.getfixturevalue("s3_server"))


def skimage_photo(name: str = "astronaut") -> Image.Image:
    """A real photograph shipped inside scikit-image's wheel (offline)."""
    return sample_photo(name)


@pytest.fixture
def astronaut() -> Image.Image:
    return skimage_photo("astronaut")


@pytest.fixture
def coffee() -> Image.Image:
    return skimage_photo("coffee")


# -- the chat agent on the classic engine, shared by the agent tests ------------------------------


@pytest.fixture(scope="module")
def classic() -> Editor:
    return Editor(engine="classic")


@pytest.fixture
def agent(classic: Editor) -> ChatAgent:
    """A fresh agent (its own session store under this test's IMGEDIT_HOME) on the classic engine."""
    from agent import ChatAgent

    return ChatAgent(editor=classic)


# -- the tiny Qwen-Image-Edit pipeline (tests/qwen_tiny.py), shared by engine and agent tests ------

TINY_AREA = 64 * 64
TINY_CONDITION_AREA = 56 * 56


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised pipeline saved in diffusers layout, built once per test run."""
    from tests.qwen_tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("qwen") / "Qwen-Image-Edit-tiny")


@pytest.fixture
def small_pipeline_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the pipeline's input areas for CPU tests, with the settings a deployer would use
    (the engine sets the pipeline module's areas for each call from them)."""
    monkeypatch.setenv("IMGEDIT_QWEN_VAE_IMAGE_AREA", str(TINY_AREA))
    monkeypatch.setenv("IMGEDIT_QWEN_CONDITION_IMAGE_AREA", str(TINY_CONDITION_AREA))
    get_settings.cache_clear()


@pytest.fixture
def qwen_editor(tiny_model: Path, small_pipeline_inputs: None) -> Editor:
    """An Editor on the tiny pipeline. Noise from random weights repaints everything, so the
    local-edit area guard is lifted."""
    settings = Settings(max_edit_area=1.0, nsfw_check=False)
    return Editor(
        engine="qwen", model_path=str(tiny_model), settings=settings, target_area=TINY_AREA, default_steps=2
    )
