"""Configuration from environment variables (``IMGEDIT_*``) and an optional ``imgedit.toml``.

One settings class for the whole project, so that a key means the same thing in the CLI, the
server and the tests. Precedence: explicit arguments, then environment, then ``imgedit.toml``
(in the working directory, or the file named by ``IMGEDIT_CONFIG``), then the defaults here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    return Path(os.environ.get("IMGEDIT_CONFIG", "imgedit.toml"))


class Settings(BaseSettings):
    """Every configurable key; the environment variable is ``IMGEDIT_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="IMGEDIT_", extra="ignore")

    home: Path = Field(default=Path("~/.imgedit"), description="Data folder: database, blobs, logs.")
    # Storage (docs/deploy.md): both default to files in ``home``; set both to run with nothing local.
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default the SQLite file imgedit.db in IMGEDIT_HOME. "
        "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB for PostgreSQL (run `imgedit db upgrade` first).",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where image and deck bytes go; default the blobs folder in IMGEDIT_HOME. "
        "s3://BUCKET/PREFIX for any S3-compatible store (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_DEFAULT_REGION as usual).",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="The S3 API's address for a store other than AWS (SeaweedFS, MinIO, Ceph)."
    )
    presigned_results: bool = Field(
        default=False,
        description="With S3 storage, answer job result downloads with a redirect to a presigned URL "
        "(clients fetch the bytes from the store) instead of streaming them through the server.",
    )
    presigned_seconds: int = Field(default=900, gt=0, description="How long a presigned URL stays valid.")
    work_dir: Path | None = Field(
        default=None,
        description="Scratch folder for jobs' working files (deck jobs' resume folders); default "
        "IMGEDIT_HOME with the embedded storage, a folder in the system's temporary folder when "
        "IMGEDIT_BLOB_URL is set.",
    )
    engine: Literal["auto", "classic", "qwen"] = Field(
        default="auto",
        description="classic (CPU), qwen (GPU, needs IMGEDIT_QWEN_MODEL), or auto: qwen when its model "
        "folder is set and CUDA is present, else classic.",
    )
    qwen_model: str | None = Field(
        default=None, description="Local Qwen-Image-Edit-2509 or -2511 folder (diffusers layout)."
    )
    qwen_preset: Literal["quality", "lightning-8", "lightning-4"] = Field(
        default="quality",
        description="quality: 40 steps, true CFG 4; lightning-8 / lightning-4: the Lightning LoRA in "
        "IMGEDIT_QWEN_LORA (checked at start), its scheduler, 8 or 4 steps, CFG off.",
    )
    qwen_device: str | None = Field(default=None, description="torch device; default cuda when present.")
    qwen_cpu_offload: bool = Field(
        default=False,
        description="Model CPU offload: each model moves to the GPU while it runs (GPUs of 48 GB and up).",
    )
    qwen_compile: bool = Field(
        default=False, description="torch.compile the transformer's blocks (compiled during the warm-up)."
    )
    qwen_lora: str | None = Field(
        default=None, description="LoRA file fused at load, e.g. the Lightning LoRA of a lightning preset."
    )
    qwen_lora_steps: int | None = Field(
        default=None,
        gt=0,
        description="Steps the LoRA was distilled for (8 or 4), when its file's metadata does not say.",
    )
    qwen_steps: int | None = Field(
        default=None, description="Denoising steps of every edit; default the preset's (40, 8 or 4)."
    )
    qwen_true_cfg: float | None = Field(
        default=None, description="True CFG scale of every edit; default the preset's (4, or 1: off)."
    )
    qwen_target_area: int | None = Field(
        default=None,
        gt=0,
        description="Pixels the qwen model generates at; default the area inputs are encoded at "
        "(1024*1024), so the output's grid is the input's (another value zooms the picture).",
    )
    qwen_vae_image_area: int | None = Field(
        default=None, gt=0, description="For tests and low memory: area inputs are encoded at (1024*1024)."
    )
    qwen_condition_image_area: int | None = Field(
        default=None, gt=0, description="For tests and low memory: area the VL encoder sees (384*384)."
    )
    qwen_fp8: bool = Field(
        default=False,
        description="FP8 transformer (torchao float8 dynamic quantisation; needs torchao and an FP8 GPU).",
    )
    qwen_attention_backend: str | None = Field(
        default=None,
        description="diffusers attention backend of the transformer: native (SDPA), flash, _flash_3, ... "
        "where installed; default native.",
    )
    qwen_first_block_cache: float | None = Field(
        default=None,
        gt=0,
        description="First-block cache threshold (e.g. 0.1) for the quality preset: skips the "
        "transformer's other blocks on steps that change little; default off.",
    )
    qwen_warm_up: bool = Field(
        default=True,
        description="Load the qwen pipeline and run one small edit when the server starts, with the "
        "local queue (/healthz says loading until then); gpu workers always warm up.",
    )
    llm: Literal["rules", "openai"] = Field(
        default="rules",
        description="Instruction planner: rules (offline) or openai (any OpenAI-compatible server).",
    )
    llm_base_url: str | None = Field(default=None, description="The OpenAI-compatible server's base URL.")
    llm_model: str | None = Field(default=None, description="The planner model's name on that server.")
    llm_api_key: str | None = Field(default=None, description="The API key for that server.")
    agent_memory_turns: int = Field(
        default=20,
        ge=1,
        description="Earlier turns of a session the chat planner sees and the agent's state keeps "
        "(the session keeps every message); older ones are forgotten, so memory stays bounded.",
    )
    max_edit_area: float = Field(
        default=0.6, gt=0.0, le=1.0, description="Largest share of the image a local edit may change."
    )
    nsfw_check: bool = Field(default=True, description="NudeNet check of every output.")
    max_image_pixels: int = Field(default=50_000_000, description="Larger images are refused.")
    themes_dir: Path | None = Field(default=None, description="Extra theme TOML files.")
    # The service (server/).
    max_upload_bytes: int = Field(default=50_000_000, gt=0, description="Largest upload the server reads.")
    inline_upload_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Edit uploads up to this size are stored on the event loop, not in a thread "
        "(cheaper); 0 where syncing a file to disk takes milliseconds (network block storage).",
    )
    rate_limit_per_minute: int = Field(default=600, ge=0, description="Requests per API key; 0 = no limit.")
    classic_workers: int | None = Field(default=None, description="Classic job slots; default CPU cores.")
    classic_processes: bool | None = Field(
        default=None,
        description="Run classic edit jobs in worker processes; default: yes with more than one core.",
    )
    gpu_workers: int = Field(default=1, ge=0, description="Qwen job slots (one per GPU).")
    cors_origins: str = Field(default="*", description="Comma-separated allowed origins ('*': any).")
    max_sessions_per_tenant: int = Field(default=10_000, gt=0, description="Sessions one tenant may keep.")
    metrics_auth: Literal["auto", "on", "off"] = Field(
        default="auto", description="/metrics needs a key: auto = unless the request came over loopback."
    )
    failed_logins_per_minute: int = Field(
        default=60, ge=0, description="Failed logins per client address before 429s; 0 = no limit."
    )
    # Scale-out (docs/deploy.md): API nodes enqueue, `imgedit worker` processes run the jobs.
    queue: Literal["local", "celery"] = Field(
        default="local",
        description="Where jobs run: local (threads of this server) or celery (`imgedit worker` "
        "processes, any number of machines, through the broker at IMGEDIT_BROKER_URL).",
    )
    broker_url: str | None = Field(
        default=None,
        description="The Celery broker with IMGEDIT_QUEUE=celery: redis://HOST:PORT/DB (run Redis "
        "with appendonly yes). API nodes and workers must use the same one.",
    )
    broker_visibility_timeout: int = Field(
        default=6 * 3600,
        gt=0,
        description="Seconds before Redis hands an unacknowledged job token to another worker; above "
        "the longest job (a dead worker's job is taken up sooner, by its lease).",
    )
    job_lease_seconds: float = Field(
        default=15.0,
        gt=0.0,
        description="A Celery worker renews the lease of its running jobs every third of this; a job "
        "whose lease ran out (its worker died) is queued again.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Runs a job gets before it fails, when its worker keeps dying while running it.",
    )
    job_step_delay: float = Field(
        default=0.0, ge=0.0, description="Testing knob: seconds the server waits per job progress step."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def work_root(self) -> Path:
        """Where jobs keep working files (created on first use); under ``home`` only when the
        blobs are local too, so a service on PostgreSQL and S3 writes nothing to ``home``."""
        if self.work_dir is not None:
            path = self.work_dir.expanduser()
        elif self.blob_url:
            # One folder per storage: a server cleans up the folders of jobs its database says
            # are over, so services on other databases must never share its folder.
            storage = hashlib.sha256(f"{self.database_url}\n{self.blob_url}".encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"imgedit-work-{os.getuid()}-{storage}"
        else:
            path = self.home_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def home_dir(self) -> Path:
        """The data folder, expanded and created on first use."""
        path = self.home.expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests call ``get_settings.cache_clear()``."""
    return Settings()


def settings_table() -> str:
    """Every setting as Markdown table rows (variable, default, meaning), read from ``Settings``;
    docs/deploy.md holds this table and tests/test_docs.py keeps it in step."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = (
            "—" if default is None else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        )
        rows.append(f"| `IMGEDIT_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows) + "\n"
