"""Style templates ("themes"): named looks such as retro/复古 or cyberpunk/赛博朋克.

Each theme is a TOML file: English and Chinese names, a prompt for the ``qwen`` engine and a
colour-grade recipe for the ``classic`` engine. Built-ins live in ``engine/themes/data``; users
add their own in ``IMGEDIT_HOME/themes`` (or ``IMGEDIT_THEMES_DIR``).
"""

from engine.themes.loader import (
    BUILTIN_DIR,
    get_theme,
    list_themes,
    load_theme_file,
    load_themes,
    user_themes_dir,
)
from engine.themes.models import ThemeRecipe, ThemeSpec

__all__ = [
    "BUILTIN_DIR",
    "ThemeRecipe",
    "ThemeSpec",
    "get_theme",
    "list_themes",
    "load_theme_file",
    "load_themes",
    "user_themes_dir",
]
