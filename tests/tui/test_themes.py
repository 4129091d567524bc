"""Themes are files: the built-in three, a site's own, bad files named, NO_COLOR plain."""

from __future__ import annotations

import re
import sys

from d42tui.cli.main import main
from d42tui.tui.themes import BUILTIN_DIR, load_themes

from .conftest import handmade_app
from .ptyterm import PtyProgram


def test_builtin_themes_are_files():
    themes, problems = load_themes([BUILTIN_DIR])
    assert problems == []
    assert {"dark", "light", "high-contrast"} <= set(themes)
    assert themes["light"].dark is False
    # high contrast is colour-blind safe: OK is blue, CRITICAL vermillion (no red/green pair)
    assert themes["high-contrast"].success.upper() == "#56B4E9"


def test_a_site_theme_file_is_loaded_and_a_bad_one_is_named(tmp_path, monkeypatch):
    (tmp_path / "noc.toml").write_text('primary = "#ff00ff"\nbackground = "#101010"\n')
    (tmp_path / "broken.toml").write_text('primary = "#ff00ff"\ncolour = "blue"\n')
    (tmp_path / "ugly.toml").write_text('primary = "not-a-colour"\n')
    monkeypatch.setenv("D42TUI_THEMES", str(tmp_path))
    themes, problems = load_themes()
    assert "noc" in themes and "dark" in themes
    assert any(p.startswith(f"{tmp_path / 'broken.toml'}: colour: unknown key") for p in problems)
    assert any(f"{tmp_path / 'ugly.toml'}: primary: 'not-a-colour' is not a colour" in p
               for p in problems)


async def test_a_site_theme_joins_the_cycle(tmp_path, monkeypatch):
    (tmp_path / "noc.toml").write_text('primary = "#ff00ff"\n')
    monkeypatch.setenv("D42TUI_THEMES", str(tmp_path))
    themes, problems = load_themes()
    app = handmade_app(themes=themes, theme="high-contrast")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        assert app.theme == "noc"
        await pilot.press("t")
        assert app.theme == "dark"


def test_unknown_theme_is_a_usage_error(capsys):
    assert main(["--demo", "--theme", "no-such-theme"]) == 2
    err = capsys.readouterr().err
    assert "--theme: no theme named 'no-such-theme'" in err and "high-contrast" in err


def test_no_color_paints_without_colour_codes():
    """NO_COLOR: the demo's whole output has no 24-bit (nor 256-colour) colour code."""
    program = PtyProgram([sys.executable, "-m", "d42tui", "--demo"], env={"NO_COLOR": "1"})
    try:
        assert program.read(20, until=b"HEALTHY"), program.output[-500:]
        program.read(1.5)
        program.send(b"q")
        program.read(3)
    finally:
        program.close()
    out = bytes(program.output)
    assert b"HEALTHY" in out
    sgr = re.findall(rb"\x1b\[([0-9;]*)m", out)
    assert sgr, "no styles at all?"
    assert not [s for s in sgr if re.search(rb"(^|;)(38|48);[25];", s)], "colour codes found"
