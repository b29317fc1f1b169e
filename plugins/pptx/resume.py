"""Finished images kept on disk, so an interrupted deck job resumes without redoing them.

A job gives a folder; each finished image is stored as ``<restyle fingerprint>-<sha256 of the
original bytes>.bin``. The fingerprint covers the plan, seed and engine, so a different restyle
of the same deck never reuses these results. Files are written atomically (temporary name, then
rename): a crash leaves either a complete result or none.
"""

from __future__ import annotations

import os
from pathlib import Path


class ResumeStore:
    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.folder / f"{self.fingerprint}-{sha256}.bin"

    def get(self, sha256: str) -> bytes | None:
        path = self._path(sha256)
        return path.read_bytes() if path.is_file() else None

    def put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
