"""Where results go: a folder (each result in place as it finishes) or a .zip (built at the end).

Results are written atomically (a temporary name, then a rename) so an interruption never leaves
half a picture. The batch's own state (the journal, and for a .zip the finished pictures waiting
to be zipped) lives in a hidden folder: inside the output folder, or beside the .zip. A finished
.zip is written the same way and its state folder removed.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

STATE_FOLDER = ".imgedit-batch"


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def copy_atomic(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, path)


class OutputTarget:
    """``path`` is a folder, or a file ending in .zip."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.is_zip = self.path.suffix.lower() == ".zip"
        self.state = self.state_for(self.path)
        self.files = self.state / "files" if self.is_zip else self.path
        self.state.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def state_for(path: Path) -> Path:
        """The batch's state folder for this output (the journal; a .zip's finished pictures)."""
        if path.suffix.lower() == ".zip":
            return path.with_name(f".{path.name}{STATE_FOLDER}")
        return path / STATE_FOLDER

    def result_path(self, relative: str) -> Path:
        """Where the result with this relative path is written (for a .zip: staged until the end)."""
        return self.files / relative

    def finish(self, written: list[str]) -> None:
        """For a .zip: the archive of the ``written`` results in this order, then the state removed."""
        if not self.is_zip:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Pictures are compressed already: storing them is as small and much faster.
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for relative in written:
                archive.write(self.result_path(relative), relative)
        os.replace(tmp, self.path)
        shutil.rmtree(self.state, ignore_errors=True)
