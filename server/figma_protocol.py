"""The frames of the Figma bridge protocol, version 1 (plugins/figma_bridge/PROTOCOL.md).

Client frames are validated with pydantic so that a frame with a missing or wrong field gets an
``invalid_message`` error naming the field, not a ``KeyError`` deep in a handler. Server frames
are built by the small functions below, so their shapes live in one place next to the spec.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobs.figma import FIGMA_MAX_SIDE, ImageResult
from server.scheduler import JobInfo

PROTOCOL_VERSION = 1
#: Frames larger than this are answered with ``frame_too_large``; images go over HTTP instead.
MAX_FRAME_BYTES = 64 * 1024
#: Items (fills) in one restyle request; 500 items of ~120 bytes fit well inside one frame.
MAX_ITEMS = 500
UPLOAD_URL = "/v1/figma/uploads"

_Id = Field(min_length=1, max_length=200)


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Hello(_Frame):
    type: Literal["hello", "auth"]
    protocol: int = PROTOCOL_VERSION
    token: str | None = Field(default=None, max_length=300)
    client: str | None = Field(default=None, max_length=200)


class RestyleItem(_Frame):
    item_id: str = _Id
    node_id: str = _Id
    paint_index: int = Field(ge=0, le=10_000)
    image_hash: str = _Id
    upload_id: str = Field(pattern=r"^[0-9a-f]{64}$")


class Restyle(_Frame):
    type: Literal["restyle"]
    request_id: str = _Id
    theme: str | None = Field(default=None, min_length=1, max_length=100)
    instruction: str | None = Field(default=None, min_length=1, max_length=2000)
    engine: Literal["auto", "classic", "qwen"] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    items: list[RestyleItem] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _check(self) -> Restyle:
        if (self.theme is None) == (self.instruction is None):
            raise ValueError("give exactly one of 'theme' or 'instruction'")
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("item_id values must be unique within a request")
        return self


class Cancel(_Frame):
    type: Literal["cancel"]
    job_id: str = _Id


class Resume(_Frame):
    type: Literal["resume"]
    job_id: str = _Id
    have: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)


def describe_validation(exc: ValidationError) -> str:
    """A one-line account of what is wrong with a frame, naming the fields."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


# -- server frames ------------------------------------------------------------------------------


def error_frame(code: str, message: str, *, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if hint:
        frame["hint"] = hint
    frame.update({key: value for key, value in extra.items() if value is not None})
    return frame


def welcome_frame(tenant: str) -> dict[str, Any]:
    return {
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "tenant": tenant,
        "max_frame_bytes": MAX_FRAME_BYTES,
        "max_items": MAX_ITEMS,
        "max_side": FIGMA_MAX_SIDE,
        "upload_url": UPLOAD_URL,
    }


def job_status_frame(info: JobInfo, done: int, total: int) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "job",
        "job_id": info.id,
        "status": info.status,
        "done": done,
        "total": total,
    }
    if info.error and info.status == "failed":
        frame["error"] = {k: v for k, v in info.error.items() if k in ("code", "message", "hint")}
    return frame


def item_frame(job_id: str, item: dict[str, Any], result: ImageResult) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "item", "job_id": job_id, **item, "status": result.status}
    if result.status == "done":
        frame.update(
            result_id=result.result_blob,
            result_url=f"/v1/figma/jobs/{job_id}/results/{item['upload_id']}",
            width=result.width,
            height=result.height,
        )
    else:
        error = result.error or {"code": "engine_error", "message": "The image could not be edited."}
        frame["error"] = {k: v for k, v in error.items() if k in ("code", "message", "hint")}
    return frame
