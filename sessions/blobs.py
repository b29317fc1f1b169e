"""A content-addressed blob store: every image version's bytes, named by their sha256.

Names are the digest, so identical bytes are stored once and a name can never point at other
content. Files fan out into ``ab/cd/`` folders (two levels of 256) so no folder grows huge, and
are written to a temporary file first and renamed, so a crash never leaves half a blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from imgedit.errors import NotFoundError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Blobs under ``root``; safe for several processes writing at once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        """Where the blob named ``digest`` lives (whether or not it exists)."""
        if not _DIGEST.match(digest):
            raise NotFoundError(f"'{digest}' is not a blob name (a sha256 hex digest).")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256; storing the same bytes again writes nothing."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.is_file():
            raise NotFoundError(f"Blob {digest} is missing from {self.root}.")
        return target.read_bytes()

    def __len__(self) -> int:
        return sum(1 for p in self.root.glob("*/*/*") if _DIGEST.match(p.name))
