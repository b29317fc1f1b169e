"""`imgedit edit` as a user runs it: a real subprocess, real files, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import skimage_photo


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_edit_writes_same_size_same_format_and_prints_report(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    skimage_photo("coffee").resize((333, 517)).save(src, "JPEG")
    out = tmp_path / "out.jpg"
    proc = run_cli("edit", str(src), "调亮一点", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["engine"] == "classic"
    assert report["output_size"] == [333, 517]
    with Image.open(out) as written:
        assert written.format == "JPEG" and written.size == (333, 517)


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    proc = run_cli("edit", str(broken), "brighter", "-o", str(tmp_path / "o.png"))
    assert proc.returncode == 2
    assert "not a readable" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.png").exists()


def test_generative_instruction_on_classic_says_it_needs_qwen(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    skimage_photo("astronaut").save(src)
    proc = run_cli(
        "edit", str(src), "在墙上挂一幅山水画", "-o", str(tmp_path / "o.png"), "--engine", "classic"
    )
    assert proc.returncode == 2
    assert "qwen" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_instruction_and_missing_file(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    skimage_photo("coffee").save(src)
    proc = run_cli("edit", str(src), "   ", "-o", str(tmp_path / "o.png"))
    assert proc.returncode == 2 and "empty" in proc.stderr
    proc = run_cli("edit", str(tmp_path / "missing.png"), "brighter", "-o", str(tmp_path / "o.png"))
    assert proc.returncode == 2 and "No such image" in proc.stderr


def test_help_lists_the_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "edit" in proc.stdout


def test_serve_help_lists_the_service_settings_with_their_defaults() -> None:
    proc = run_cli("serve", "--help", env={"COLUMNS": "200"})  # one setting per line
    assert proc.returncode == 0
    assert "IMGEDIT_MAX_UPLOAD_BYTES (default 50000000): Largest upload the server reads." in proc.stdout
    assert "IMGEDIT_INLINE_UPLOAD_BYTES (default 1048576)" in proc.stdout
    assert "IMGEDIT_CLASSIC_WORKERS: Classic job slots" in proc.stdout  # no "(default None)"
