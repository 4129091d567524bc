"""Theme files: `themes/*.toml` in the source tree, then the site's own directories.

A theme file is data: the fields of `textual.theme.Theme` (name, primary, colours,
dark, variables). A site adds one in `$D42TUI_THEMES` (os.pathsep-separated dirs)
or `<user config dir>/d42tui/themes/`; a later file with the same name wins.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "themes"
DEFAULT_THEME = "dark"
NO_COLOR_THEME = "textual-ansi"  # native ANSI colours; NO_COLOR then strips them all

_FIELDS = {f.name for f in dataclasses.fields(Theme)}
_COLOURS = {"primary", "secondary", "warning", "error", "success", "accent", "foreground",
            "background", "surface", "panel", "boost"}


class ThemeError(Exception):
    """A theme file that cannot be used; the message names the file and the key."""


def theme_dirs() -> list[Path]:
    # A source checkout or editable install has themes/ beside the package; a wheel
    # install puts the same files under <prefix>/share/d42tui/themes (pyproject data-files).
    installed = Path(sys.prefix) / "share" / "d42tui" / "themes"
    dirs = [BUILTIN_DIR if BUILTIN_DIR.is_dir() else installed]
    from platformdirs import user_config_dir

    dirs.append(Path(user_config_dir("d42tui")) / "themes")
    if env := os.environ.get("D42TUI_THEMES"):
        dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return dirs


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: TOML error: {exc}") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ThemeError(f"{path}: {unknown[0]}: unknown key (theme keys: "
                         f"{', '.join(sorted(_FIELDS))})")
    data.setdefault("name", path.stem)
    if "primary" not in data:
        raise ThemeError(f"{path}: primary: required key is missing")
    for key in _COLOURS & data.keys():
        try:
            Color.parse(data[key])
        except (ColorParseError, TypeError):
            raise ThemeError(f"{path}: {key}: '{data[key]}' is not a colour") from None
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError(f"{path}: variables: expected a table of strings")
    try:
        return Theme(**data)
    except TypeError as exc:
        raise ThemeError(f"{path}: {exc}") from None


def load_themes(dirs: list[Path] | None = None) -> tuple[dict[str, Theme], list[str]]:
    """Every usable theme by name (in file order) and one line per unusable file."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in theme_dirs() if dirs is None else dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                problems.append(str(exc))
                continue
            themes[theme.name] = theme
    return themes, problems
