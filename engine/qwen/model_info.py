"""Which Qwen-Image-Edit model a folder holds (2509 or 2511) and at which revision, for the report.

Edit-2509 and Edit-2511 use the same pipeline class and the same folder layout; what tells them
apart is the transformer's config: 2511 sets ``zero_cond_t`` (the reference images' tokens get
timestep zero, which diffusers supports from 0.37). The revision is the hub commit the folder was
downloaded at: ``hf download --local-dir`` leaves ``.cache/huggingface/download/*.metadata`` files
whose first line is the commit, and a hub-cache snapshot lives in ``snapshots/<commit>/``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelInfo:
    """The model's published name (``Qwen-Image-Edit-2509`` / ``-2511``) and revision, if known."""

    name: str
    revision: str | None = None


def model_info(source: str) -> ModelInfo:
    """What ``source`` (a local folder or a hub id) holds, as far as its files say."""
    folder = Path(source).expanduser()
    if not folder.is_dir():
        return ModelInfo(name=source.rsplit("/", 1)[-1])
    return ModelInfo(name=_model_name(folder), revision=_revision(folder))


def _model_name(folder: Path) -> str:
    try:
        config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    return "Qwen-Image-Edit-2511" if config.get("zero_cond_t") else "Qwen-Image-Edit-2509"


def _revision(folder: Path) -> str | None:
    resolved = folder.resolve()
    if resolved.parent.name == "snapshots" and _COMMIT.match(resolved.name):
        return resolved.name
    for metadata in sorted((folder / ".cache" / "huggingface" / "download").rglob("*.metadata")):
        try:
            first = metadata.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError, UnicodeDecodeError):
            continue
        if _COMMIT.match(first):
            return first
    return None
