"""Loading themes: the built-ins shipped in ``engine/themes/data`` plus the user's folder.

The user's folder is ``Settings.themes_dir`` (default ``IMGEDIT_HOME/themes``); a user theme
with a built-in's slug replaces it. Results are cached per folder and re-read when a file in it
changes, so a theme dropped into the folder shows up without a restart.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from engine.themes.models import ThemeSpec
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, NotFoundError

BUILTIN_DIR = Path(__file__).parent / "data"

_Fingerprint = tuple[tuple[str, int, int], ...]
_user_cache: dict[Path, tuple[_Fingerprint, dict[str, ThemeSpec]]] = {}


def user_themes_dir(settings: Settings | None = None) -> Path:
    """Where the user's own theme files live."""
    settings = settings or get_settings()
    folder = settings.themes_dir or settings.home / "themes"
    return folder.expanduser()


def load_theme_file(path: Path) -> ThemeSpec:
    """One theme from a TOML file; a malformed file is a ``BadInputError`` that names it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"Theme file {path} is not valid TOML: {exc}.",
            hint="Fix or remove the file; see docs/instructions.md for the theme format.",
        ) from None
    try:
        return ThemeSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise BadInputError(
            f"Theme file {path} is not a valid theme ({problems}).",
            hint="Fix or remove the file; see docs/instructions.md for the theme format.",
        ) from None


def _load_folder(folder: Path) -> dict[str, ThemeSpec]:
    themes: dict[str, ThemeSpec] = {}
    for path in sorted(folder.glob("*.toml")):
        theme = load_theme_file(path)
        themes[theme.name] = theme
    return themes


@lru_cache(maxsize=1)
def builtin_themes() -> dict[str, ThemeSpec]:
    """The themes shipped with imgedit, by slug."""
    return _load_folder(BUILTIN_DIR)


def _fingerprint(folder: Path) -> _Fingerprint:
    stats = []
    for path in sorted(folder.glob("*.toml")):
        stat = path.stat()
        stats.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


def _user_themes(folder: Path) -> dict[str, ThemeSpec]:
    if not folder.is_dir():
        return {}
    key = folder.resolve()
    fingerprint = _fingerprint(folder)
    cached = _user_cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    themes = _load_folder(folder)
    _user_cache[key] = (fingerprint, themes)
    return themes


def load_themes(extra_dir: Path | None = None) -> dict[str, ThemeSpec]:
    """Built-in themes plus those in ``extra_dir`` (default: the user's themes folder), by slug."""
    folder = extra_dir if extra_dir is not None else user_themes_dir()
    return {**builtin_themes(), **_user_themes(folder)}


def list_themes(extra_dir: Path | None = None) -> list[ThemeSpec]:
    """Every theme, built-ins first in slug order, then the user's additions."""
    themes = load_themes(extra_dir)
    builtin = builtin_themes()
    return sorted(themes.values(), key=lambda theme: (theme.name not in builtin, theme.name))


def _normalise(word: str) -> str:
    return " ".join(word.casefold().replace("_", "-").split())


def get_theme(name: str, *, extra_dir: Path | None = None) -> ThemeSpec:
    """The theme called ``name``: slug, English or Chinese name or alias, case-insensitive."""
    wanted = _normalise(name)
    themes = list_themes(extra_dir)
    for theme in themes:
        if any(_normalise(key) == wanted for key in theme.keys):
            return theme
    known = ", ".join(f"{theme.name} ({theme.name_zh})" for theme in themes)
    raise NotFoundError(f"There is no theme called '{name}'.", hint=f"Known themes: {known}.")
