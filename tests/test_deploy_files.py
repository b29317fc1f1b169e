"""The container deployment kept true without Docker: deploy/compose.yaml is valid YAML with the
topology docs/deploy.md describes, and every setting it (or a deployment document) names is one
``Settings`` has, so a renamed or misspelt variable cannot silently fall back to a default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from imgedit.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
#: Read outside ``Settings``: which settings file to read.
OTHER_VARIABLES = {"IMGEDIT_CONFIG"}
SETTINGS = {f"IMGEDIT_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def command(service: dict[str, Any]) -> str:
    return " ".join(service["command"])


def test_compose_runs_api_nodes_cpu_and_gpu_workers_and_their_servers() -> None:
    services = compose()["services"]
    assert {"api", "worker-cpu", "worker-gpu", "redis", "postgres", "seaweedfs", "migrate"} <= set(services)
    assert command(services["api"]).startswith("imgedit serve --host 0.0.0.0")
    assert services["api"]["deploy"]["replicas"] >= 2
    assert command(services["worker-cpu"]) == "imgedit worker --pool cpu"
    assert command(services["worker-gpu"]) == "imgedit worker --pool gpu"
    assert command(services["migrate"]) == "imgedit db upgrade"
    # The GPU worker asks the NVIDIA runtime for a GPU.
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    # Redis keeps what it accepted across a restart.
    assert "--appendonly yes" in command(services["redis"])
    for name in ("api", "redis", "postgres", "seaweedfs"):
        assert services[name]["healthcheck"]["test"], name
    # Nothing starts on a database that is not migrated.
    for name in ("api", "worker-cpu", "worker-gpu"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_imgedit_process_in_compose_shares_the_database_store_and_broker() -> None:
    services = compose()["services"]
    shared = ("IMGEDIT_QUEUE", "IMGEDIT_BROKER_URL", "IMGEDIT_DATABASE_URL", "IMGEDIT_BLOB_URL")
    values = {
        name: tuple(services[name]["environment"][key] for key in shared)
        for name in services
        if "environment" in services[name] and "IMGEDIT_QUEUE" in services[name]["environment"]
    }
    assert set(values) == {"api", "worker-cpu", "worker-gpu", "migrate"}
    assert len(set(values.values())) == 1, values
    assert next(iter(values.values()))[0] == "celery"


def test_every_setting_the_deployment_files_name_exists() -> None:
    services = compose()["services"]
    named = {key for service in services.values() for key in service.get("environment") or {}}
    unknown = {key for key in named if key.startswith("IMGEDIT_")} - SETTINGS
    assert not unknown, f"deploy/compose.yaml sets variables no setting reads: {sorted(unknown)}"
    for path in (DEPLOY / "kubernetes.md", ROOT / "docs" / "deploy.md", DEPLOY / "Dockerfile"):
        mentioned = set(re.findall(r"\bIMGEDIT_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
        assert not mentioned - SETTINGS, f"{path.name} names unknown settings: {sorted(mentioned - SETTINGS)}"


def test_the_image_installs_the_torch_the_makefile_pins() -> None:
    pinned = re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text()).group(1)  # type: ignore[union-attr]
    assert f"ARG TORCH_VERSION={pinned}\n" in (DEPLOY / "Dockerfile").read_text()
