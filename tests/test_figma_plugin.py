"""The Figma plugin's own files: code.js's Node tests (run here so `pytest` covers them) and the
manifest Figma loads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIR = ROOT / "plugins" / "figma_bridge" / "plugin"


def test_code_js_passes_its_node_tests() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js (v20 or newer) is needed to test the Figma plugin's code.js"
    result = subprocess.run(
        [node, "--test", "plugins/figma_bridge/plugin/tests/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) >= 14, output
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), output


def test_manifest_names_the_files_and_the_local_service() -> None:
    manifest = json.loads((PLUGIN_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert (PLUGIN_DIR / manifest["main"]).is_file() and (PLUGIN_DIR / manifest["ui"]).is_file()
    assert manifest["editorType"] == ["figma"]
    dev = manifest["networkAccess"]["devAllowedDomains"]
    assert {"http://localhost:8000", "ws://localhost:8000"} <= set(dev)
    # Figma loads code.js as a plain script: no import/export statements, no build step.
    code = (PLUGIN_DIR / "code.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|export)\s", code, re.MULTILINE)
