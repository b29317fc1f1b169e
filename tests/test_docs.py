"""Docs kept true by a check: docs/deploy.md's table of settings is the one ``Settings`` makes."""

from __future__ import annotations

import re
from pathlib import Path

from imgedit.config import settings_table

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def test_deploy_md_lists_every_setting_as_settings_declares_it() -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    found = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", text, re.S)
    assert found, "docs/deploy.md lost its settings markers"
    assert found.group(1) == settings_table(), (
        "docs/deploy.md's settings table is out of date: replace the lines between its markers with the "
        'output of: python -c "from imgedit.config import settings_table; '
        "print(settings_table(), end='')\""
    )
