"""Themes: the built-in TOML files, lookup in both languages, the user's themes folder, clear
errors for malformed files, and the ``imgedit themes`` listing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from engine.parsing import parse_instruction
from engine.parsing.colors import parse_color
from engine.themes import ThemeRecipe, get_theme, list_themes, load_themes
from imgedit.config import get_settings
from imgedit.errors import BadInputError, NotFoundError

BUILTIN = {
    "minimalist": "极简",
    "retro": "复古",
    "cyberpunk": "赛博朋克",
    "valentine": "情人节",
    "christmas": "圣诞",
    "spring-festival": "春节",
    "summer": "夏季",
    "business": "商务",
    "monochrome": "黑白",
}

USER_THEME = """
name = "ocean"
name_en = "Ocean Breeze"
name_zh = "海洋"
aliases = ["seaside", "海风"]
description = "Cool blues and soft highlights."
prompt = "Give the image a fresh ocean look."

[recipe]
saturation = 1.1
tint = "#2a7fff"
tint_strength = 0.1
curve = [[0, 5], [255, 250]]
"""


@pytest.fixture(autouse=True)
def _themes_in_imgedit_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """User themes come from IMGEDIT_HOME/themes unless a test names another folder."""
    monkeypatch.delenv("IMGEDIT_THEMES_DIR", raising=False)
    get_settings.cache_clear()


def test_builtin_themes_load_with_both_names_prompts_and_recipes() -> None:
    themes = load_themes()
    assert {slug: theme.name_zh for slug, theme in themes.items()} == BUILTIN
    for theme in themes.values():
        assert theme.name_en and theme.description and len(theme.prompt) > 30
        assert theme.recipe != ThemeRecipe(), f"{theme.name} has an empty recipe"
        for colour in (theme.recipe.tint, theme.recipe.shadows, theme.recipe.highlights):
            assert colour is None or parse_color(colour) is not None
    assert themes["monochrome"].recipe.grayscale
    assert themes["retro"].recipe.grain > 0 and themes["retro"].recipe.vignette > 0


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("valentine", "valentine"),
        ("Valentine's Day", "valentine"),
        ("情人节", "valentine"),
        ("VALENTINES", "valentine"),
        ("Spring Festival", "spring-festival"),
        ("spring_festival", "spring-festival"),
        ("Chinese New Year", "spring-festival"),
        ("春节", "spring-festival"),
        ("black and white", "monochrome"),
        ("黑白", "monochrome"),
        ("vintage", "retro"),
        ("赛博朋克", "cyberpunk"),
        ("极简", "minimalist"),
        ("商务", "business"),
        ("夏季", "summer"),
        ("xmas", "christmas"),
    ],
)
def test_get_theme_by_slug_name_or_alias(name: str, slug: str) -> None:
    assert get_theme(name).name == slug


def test_unknown_theme_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_theme("steampunk")
    assert "steampunk" in caught.value.message
    assert "cyberpunk (赛博朋克)" in str(caught.value)
    assert caught.value.exit_code == 2


def test_user_theme_folder_is_picked_up(imgedit_home: Path) -> None:
    folder = imgedit_home / "themes"
    folder.mkdir(parents=True)
    assert "ocean" not in load_themes()
    (folder / "ocean.toml").write_text(USER_THEME, encoding="utf-8")
    assert load_themes()["ocean"].recipe.tint == "#2a7fff"
    assert get_theme("海洋").name == "ocean"
    assert get_theme("Seaside").name_en == "Ocean Breeze"
    assert [theme.name for theme in list_themes()][-1] == "ocean"
    # The parser knows it too, in both languages.
    assert parse_instruction("海洋风格").operations[0].model_dump(exclude={"source", "implied"}) == {
        "op": "theme",
        "name": "ocean",
        "place": None,
        "box": None,
    }
    assert parse_instruction("apply the ocean breeze theme").kinds == ["theme"]


def test_themes_dir_setting_and_user_override_of_a_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "my-themes"
    folder.mkdir()
    override = USER_THEME.replace('name = "ocean"', 'name = "retro"').replace("海洋", "我的复古")
    (folder / "retro.toml").write_text(override, encoding="utf-8")
    monkeypatch.setenv("IMGEDIT_THEMES_DIR", str(folder))
    get_settings.cache_clear()
    assert get_theme("retro").name_zh == "我的复古"
    assert len(load_themes()) == len(BUILTIN)


def test_a_file_changed_after_loading_is_read_again(imgedit_home: Path) -> None:
    folder = imgedit_home / "themes"
    folder.mkdir(parents=True)
    path = folder / "ocean.toml"
    path.write_text(USER_THEME, encoding="utf-8")
    assert get_theme("ocean").description == "Cool blues and soft highlights."
    path.write_text(USER_THEME.replace("Cool blues", "Deep blues"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert get_theme("ocean").description == "Deep blues and soft highlights."


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('name = "broken\n', "not valid TOML"),
        (USER_THEME.replace('prompt = "Give the image a fresh ocean look."\n', ""), "prompt: Field required"),
        (USER_THEME.replace('"#2a7fff"', '"blue"'), "recipe.tint"),
        (USER_THEME.replace("[[0, 5], [255, 250]]", "[[0, 200], [255, 100]]"), "curve points must rise"),
        (USER_THEME.replace('name = "ocean"', 'name = "Ocean Theme"'), "name:"),
        (USER_THEME.replace("saturation = 1.1", "saturaton = 1.1"), "recipe.saturaton"),
    ],
)
def test_malformed_user_theme_names_the_file(imgedit_home: Path, content: str, fragment: str) -> None:
    folder = imgedit_home / "themes"
    folder.mkdir(parents=True)
    path = folder / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        load_themes()
    assert str(path) in caught.value.message
    assert fragment in caught.value.message
    assert caught.value.hint and "docs/instructions.md" in caught.value.hint


def test_imgedit_themes_lists_one_theme_per_line(imgedit_home: Path) -> None:
    folder = imgedit_home / "themes"
    folder.mkdir(parents=True)
    (folder / "ocean.toml").write_text(USER_THEME, encoding="utf-8")
    result = CliRunner().invoke(app, ["themes"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(BUILTIN) + 1
    by_slug = {line.split()[0]: line for line in lines}
    assert set(by_slug) == {*BUILTIN, "ocean"}
    for slug, zh in BUILTIN.items():
        theme = get_theme(slug)
        line = by_slug[slug]
        assert theme.name_en in line and zh in line and theme.description in line
        assert line.index(theme.name_en) < line.index(zh) < line.index(theme.description)
    assert "Ocean Breeze" in by_slug["ocean"] and "海洋" in by_slug["ocean"]


def test_imgedit_themes_json() -> None:
    result = CliRunner().invoke(app, ["themes", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {item["name"] for item in data} == set(BUILTIN)
    assert all(item["prompt"] and "recipe" in item for item in data)


def test_imgedit_themes_reports_a_malformed_file_without_a_traceback(imgedit_home: Path) -> None:
    folder = imgedit_home / "themes"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text("name = [", encoding="utf-8")
    result = CliRunner().invoke(app, ["themes"])
    assert result.exit_code == 2
    assert "bad.toml" in result.output and "Traceback" not in result.output
