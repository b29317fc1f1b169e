"""The Figma plugin's panel in headless Chromium, with a stand-in page playing Figma's sandbox.

The page runs the real ``code.js`` over a stand-in ``figma`` global
(plugins/figma_bridge/plugin/tests/browser_sandbox.js) and opens the real ``ui.html`` in an
iframe sandboxed like Figma's (scripts only: origin ``null``), so the panel talks to a running
service exactly as it would inside Figma. Used by tests/test_figma_panel.py and by
scripts/figma_panel_screenshot.py (the README's picture).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "figma_bridge" / "plugin"


def image_fill(image_hash: str, **extra: Any) -> dict[str, Any]:
    """An IMAGE paint as Figma stores it, with a crop so that keeping imageTransform matters."""
    return {
        "type": "IMAGE",
        "imageHash": image_hash,
        "scaleMode": "CROP",
        "imageTransform": [[0.8, 0, 0.1], [0, 0.8, 0.05]],
        "scalingFactor": 0.5,
        "rotation": 0,
        "filters": {"exposure": 0, "contrast": 0.1, "saturation": 0, "temperature": 0, "tint": 0},
        "opacity": 1,
        "blendMode": "NORMAL",
        "visible": True,
        **extra,
    }


def node(
    node_id: str, name: str, *, fills: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": node_id, "name": name, "fills": fills or [], **extra}


def _script_json(value: Any) -> str:
    # "</" would end the <script> element early (ui.html contains "</script>").
    return json.dumps(value).replace("</", "<\\/")


def panel_page(images: dict[str, bytes], nodes: list[dict[str, Any]]) -> str:
    """The stand-in sandbox page: ``images`` by Figma hash, ``nodes`` the selected layer trees."""
    doc = {"images": {h: base64.b64encode(data).decode() for h, data in images.items()}, "nodes": nodes}
    ui = (PLUGIN_DIR / "ui.html").read_text(encoding="utf-8")
    sandbox = (PLUGIN_DIR / "tests" / "browser_sandbox.js").read_text(encoding="utf-8")
    code = (PLUGIN_DIR / "code.js").read_text(encoding="utf-8")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Figma stand-in</title></head>"
        "<body style='margin:0;padding:0;background:#fff'>"
        f"<script>window.STANDIN_DOC = {_script_json(doc)}; window.__html__ = {_script_json(ui)};</script>"
        f"<script>{sandbox}</script><script>{code}</script></body></html>"
    )
