#!/usr/bin/env bash
# One command for a lent GPU machine: the GPU tests, then the benchmarks, in under 8 minutes,
# figures written to one folder (docs/qwen.md, "Measuring on a GPU").
#
#   scripts/gpu-check.sh [FOLDER]        # default: $OUT if set, else ./gpu-check-<date>
#
# Needs the repository set up (`make setup-dev`) on a CUDA machine. Without weights it runs the GPU
# tests on the tiny pipeline and the random-weight benchmark (real architecture, no download);
# with IMGEDIT_QWEN_MODEL set to a downloaded model folder it also edits with the real weights
# (IMGEDIT_QWEN_LORA_8 / IMGEDIT_QWEN_LORA_4: the Lightning LoRAs, for those presets).
# GPU_CHECK_SECONDS (default 450) is the whole budget; each step gets a share and a timeout, and
# every step writes what it measured as it goes, so a step cut short still leaves its figures.
set -uo pipefail

cd "$(dirname "$0")/.."
folder="${1:-${OUT:-gpu-check-$(date -u +%Y%m%dT%H%M%S)}}"
mkdir -p "$folder"
folder="$(cd "$folder" && pwd)"
summary="$folder/gpu-check.md"
budget="${GPU_CHECK_SECONDS:-450}"
started=$(date +%s)
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
export HF_HUB_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

left() { echo $(( budget - ($(date +%s) - started) )); }
note() { echo "$*" | tee -a "$summary"; }

{
  echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
  echo "- $("$python" -c 'import torch, diffusers; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, diffusers {diffusers.__version__}")' 2>&1 | tail -1)"
  echo "- optional packages: $("$python" -c 'import importlib.util as u; print(", ".join(m + (" yes" if u.find_spec(m) else " no") for m in ("torchao", "flash_attn", "flash_attn_interface")))')"
  echo
} > "$summary"

if ! "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  note "No CUDA GPU is visible: nothing to measure here (run the CPU suite with make test)."
  exit 1
fi

# 1. The GPU tests (tests marked gpu: the tiny pipeline in bf16 on the GPU).
note "## GPU tests (pytest -m gpu)"
timeout 150 "$python" -m pytest -q -m gpu -p no:cacheprovider tests/test_qwen_gpu.py > "$folder/pytest-gpu.txt" 2>&1
status=$?
note ""
note '```'
tail -n 15 "$folder/pytest-gpu.txt" | tee -a "$summary"
note '```'
note "exit status $status (124: cut at 150 s)"
note ""

# 2. The real weights, end to end through the Editor, if there are weights.
note "## Real weights"
if [ -n "${IMGEDIT_QWEN_MODEL:-}" ] && [ -d "${IMGEDIT_QWEN_MODEL}" ]; then
  presets="quality"
  lora_args=()
  if [ -n "${IMGEDIT_QWEN_LORA_8:-}" ]; then presets="$presets,lightning-8"; lora_args+=(--lora-8 "$IMGEDIT_QWEN_LORA_8"); fi
  if [ -n "${IMGEDIT_QWEN_LORA_4:-}" ]; then presets="$presets,lightning-4"; lora_args+=(--lora-4 "$IMGEDIT_QWEN_LORA_4"); fi
  timeout 180 "$python" bench/qwen_real.py --model "$IMGEDIT_QWEN_MODEL" --presets "$presets" \
    "${lora_args[@]}" --out "$folder/real-weights.md" > "$folder/real-weights.txt" 2>&1
  status=$?
  [ -f "$folder/real-weights.md" ] && cat "$folder/real-weights.md" >> "$summary"
  note "exit status $status (124: cut at 180 s; log in real-weights.txt)"
else
  note "Not measured: the real model's figures need the weights. Set IMGEDIT_QWEN_MODEL to a downloaded"
  note "Qwen-Image-Edit-2509 (or -2511) folder, and IMGEDIT_QWEN_LORA_8 / IMGEDIT_QWEN_LORA_4 to its Lightning"
  note "LoRAs, then run this again. The GPU tests above ran the tiny pipeline on the GPU; the benchmark"
  note "below uses random weights at the real architecture's size, which gives the real speed."
fi
note ""

# 3. The random-weight benchmark at full size, with what is left of the budget.
seconds=$(left)
note "## Benchmark, random weights at full size ($seconds s left of $budget)"
if [ "$seconds" -gt 60 ]; then
  fp8=off
  "$python" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("torchao") else 1)' && fp8=both
  timeout "$seconds" "$python" bench/qwen_gpu.py --images 1,2,3 --compile both --fp8 "$fp8" \
    --e2e bf16-compiled,fp8-compiled --out "$folder/bench.md" > "$folder/bench.txt" 2>&1
  status=$?
  [ -f "$folder/bench.md" ] && cat "$folder/bench.md" >> "$summary"
  note ""
  note "exit status $status (124: cut at the budget; the figures above are those measured before)"
else
  note "Not run: under a minute of the budget was left."
fi
note ""
note "Total: $(( $(date +%s) - started )) s. Files: $folder"
