"""Console test helpers: apps on hand-made snapshots or on the real simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC

import pytest

from d42tui.config.models import load_config, state_dir
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore
from d42tui.tui.app import ConsoleApp, DemoConsoleApp
from d42tui.tui.demo import SimulatorDemo
from d42tui.tui.themes import BUILTIN_DIR, load_themes

from ..conftest import load_sim_config, sim_config_dict
from . import handmade

FAST_POLL = {"interval": "500ms", "timeout": "500ms", "failure_threshold": 3,
             "recovery_threshold": 2}


@pytest.fixture(autouse=True)
def _colour_terminal(monkeypatch):
    """Tests see the themes' colours unless a test sets NO_COLOR itself."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("D42TUI_THEMES", raising=False)


def builtin_themes():
    themes, problems = load_themes([BUILTIN_DIR])
    assert not problems
    return themes


def handmade_app(pairs: int = 1, **kwargs) -> ConsoleApp:
    """An app with no poller: the test hands it snapshots; the clock stands still."""
    kwargs.setdefault("themes", builtin_themes())
    kwargs.setdefault("clock", handmade.fixed_clock)
    kwargs.setdefault("local_tz", UTC)
    config = kwargs.pop("config", None) or handmade.make_config(pairs)
    return ConsoleApp(config, **kwargs)


def sim_app(sim, tmp_path, *, demo: bool = False, poll: dict | None = None,
            dns: dict | None = None, **kwargs) -> ConsoleApp:
    """The console on the real simulator, polling fast; `dns`: the pair's dns: section."""
    if dns is None:
        config = load_sim_config(sim, tmp_path, poll=poll or FAST_POLL)
    else:
        import yaml

        data = sim_config_dict(sim, tmp_path, poll=poll or FAST_POLL)
        data["pairs"][0]["dns"] = dns
        path = tmp_path / "dns.yaml"
        path.write_text(yaml.safe_dump(data))
        path.chmod(0o600)
        config = load_config(path).config
    store = StateStore(state_dir(config))
    kwargs.setdefault("themes", builtin_themes())
    if demo:
        return DemoConsoleApp(config, poller=Poller(config, store), store=store,
                              demo=SimulatorDemo(list(sim.names), sim.set_fault,
                                                 sim.set_mode_by_hand), **kwargs)
    return ConsoleApp(config, poller=Poller(config, store), store=store, **kwargs)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 10.0,
                   what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def screen_text(app) -> str:
    """What the terminal shows, as text (the compositor's current frame)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def type_at_once(app, *keys: str) -> None:
    """Keys as a fast typist or a paste without bracketed paste sends them: all handed to
    the app's driver at once, with no pause for the app to handle one before the next
    (Pilot's `press` waits for the app after each key)."""
    import unicodedata

    from textual import events
    from textual.app import _character_to_key, _get_unicode_name_from_key
    from textual.keys import REPLACED_KEYS

    for typed in keys:
        key = _character_to_key(typed) if len(typed) == 1 and not typed.isalnum() else typed
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


@pytest.fixture
def busy_core():
    """One of the machine's cores spinning, as another engineer's test run does."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()
