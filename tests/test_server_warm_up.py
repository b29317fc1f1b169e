"""The server warms the qwen engine up as it starts: /healthz says "loading" (503) until the
tiny pipeline (tests/qwen_tiny.py) is loaded and has run once, then "ok"; a wrong preset stops
``imgedit serve`` before it listens, with its message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TINY_AREA, TINY_CONDITION_AREA, skimage_photo
from tests.server_harness import LiveServer, png_bytes, server_settings, wait_for_job


def test_healthz_says_loading_until_the_qwen_model_is_warm(tiny_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)  # a configuration this process has not loaded yet
    settings = server_settings(
        tmp_path / "home",
        engine="qwen",
        qwen_model=str(model),
        qwen_device="cpu",
        qwen_vae_image_area=TINY_AREA,
        qwen_condition_image_area=TINY_CONDITION_AREA,
        qwen_steps=2,
        max_edit_area=1.0,
    )
    with LiveServer(settings) as live, live.client() as anonymous:
        seen: list[tuple[int, str]] = []
        deadline = time.monotonic() + 120
        while not seen or seen[-1][1] != "ok":
            answer = anonymous.get("/healthz")
            seen.append((answer.status_code, answer.json()["status"]))
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
        assert seen[0] == (503, "loading")
        assert seen[-1] == (200, "ok")
        assert {status for _, status in seen} == {"loading", "ok"}
        # The warm pipeline serves edits.
        with live.client(live.key("acme")) as client:
            data = png_bytes(skimage_photo("coffee").resize((64, 48)))
            posted = client.post(
                "/v1/edits",
                files={"file": ("photo.png", data, "image/png")},
                data={"instruction": "把背景换成海边", "engine": "qwen"},
            )
            assert posted.status_code == 202, posted.text
            job = wait_for_job(client, posted.json()["job_id"], timeout=120)
            assert job["status"] == "done", job


def test_serve_refuses_to_start_with_a_preset_its_lora_does_not_fit(tiny_model: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        IMGEDIT_HOME=str(tmp_path / "home"),
        IMGEDIT_ENGINE="qwen",
        IMGEDIT_QWEN_MODEL=str(tiny_model),
        IMGEDIT_QWEN_PRESET="lightning-8",
    )
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "lightning-8" in done.stderr and "IMGEDIT_QWEN_LORA" in done.stderr
    assert "Traceback" not in done.stderr
