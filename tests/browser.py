"""Headless Chromium for the page tests: Debian's chromium, launched as this sandbox needs.

Playwright cannot download browsers here, so it drives the system build; the flags keep Chromium
from reaching for the network (background updates, QUIC) that this machine does not have.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A running headless Chromium, closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _checkouts() -> list[Path]:
    """This checkout, then the one its git worktree belongs to (a worktree shares its
    ``node_modules`` only through the main checkout)."""
    root = Path(__file__).resolve().parents[1]
    common = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return [root, *([Path(common).parent] if common else [])]


def axe_script() -> Path:
    """axe-core's browser script, installed by ``npm ci`` from package.json (``make setup-dev``)."""
    for checkout in _checkouts():
        script = checkout / "node_modules" / "axe-core" / "axe.min.js"
        if script.is_file():
            return script
    raise AssertionError("axe-core is not installed: run `npm ci` in the checkout (make setup-dev does).")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now."""
    page.add_script_tag(path=str(axe_script()))
    result: dict[str, Any] = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}})"
    )
    return list(result["violations"])
