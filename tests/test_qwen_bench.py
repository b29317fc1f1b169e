"""bench/qwen_gpu.py keeps running: its --smoke mode (the tiny model on the CPU) goes through every
part of the script in CI, so the GPU session that runs it for real finds it working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.qwen_gpu import peak_tflops

ROOT = Path(__file__).resolve().parent.parent


def test_peak_is_the_dense_bf16_figure_of_the_sku() -> None:
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0  # SXM
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA H200") == 989.0
    assert peak_tflops("NVIDIA GeForce RTX 3090") is None  # unknown: --peak-tflops


def test_smoke_run_reports_every_part(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    command = [
        sys.executable, "bench/qwen_gpu.py", "--smoke", "--images", "1,2", "--presets", "quality,lightning-4",
        "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert "--smoke --images 1,2" in report  # the command is in the report
    for heading in ("Transformer FLOPs", "## Parts", "## End to end", "## Post-processing"):
        assert heading in report
    rows = report.splitlines()
    parts = [row for row in rows if row.startswith(("| fp32-eager | 1 ", "| fp32-compiled | 2 "))]
    assert len(parts) == 2
    # FP8 needs torchao and a CUDA GPU: the report says it did not run, and why.
    assert any(row.startswith("| fp8-eager |") and "not run" in row for row in rows)
    e2e = [
        row
        for row in rows
        if row.startswith(("| fp32-eager | quality | 4 | 8 |", "| fp32-compiled | lightning-4 | 1 | 1 |"))
    ]
    assert len(e2e) == 2
    post = rows[rows.index("| resize | preservation | NSFW check |") + 2]
    assert post.count("/") == 3
