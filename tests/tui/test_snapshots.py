"""What the operator sees, as SVG snapshots at 80x24 and 120x40 (fixed clock, hand-made
pair states). Update deliberately with `--snapshot-update`, then look at the SVGs."""

from __future__ import annotations

import pytest

from . import handmade as H
from .conftest import handmade_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def board(state, pairs: int = 1, **kwargs):
    app = handmade_app(pairs=pairs, **kwargs)

    async def show(pilot) -> None:
        for index in range(pairs):
            app.show_snapshot(state(app.config, index) if index == 0 else
                              H.healthy(app.config, index))
        await pilot.pause()

    return app, show


@pytest.mark.parametrize("size", SIZES)
def test_healthy(snap_compare, size):
    app, show = board(H.healthy)
    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_primary_down(snap_compare, size):
    app, show = board(H.primary_down)
    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_split_brain(snap_compare, size):
    app, show = board(H.split_brain)
    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_many_pairs_list(snap_compare, size):
    app, show = board(H.primary_down, pairs=3)
    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    app, show = board(H.healthy, read_only=True)
    assert snap_compare(app, terminal_size=size, run_before=show, press=["question_mark"])


def test_high_contrast_primary_down(snap_compare):
    app, show = board(H.primary_down, theme="high-contrast")
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_failover_dialog(snap_compare):
    """The dialog an operator reads at 3 a.m.: the pair now, the data age, the steps."""
    app = handmade_app()

    async def show(pilot) -> None:
        app.show_snapshot(H.with_pipeline(H.primary_down(app.config)))
        await pilot.pause()
        await pilot.press("F")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_board_with_pipeline_and_dns_mismatch(snap_compare):
    app = handmade_app(config=H.make_config(dns=True))

    async def show(pilot) -> None:
        app.show_snapshot(H.with_pipeline(H.healthy(app.config),
                                          "backup file is 26 h old (stale after 25 h)"))
        app.show_dns("main", H.dns_answer("10.0.0.2"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_board_automation_paused(snap_compare, tmp_path):
    """The automation line at 80x24: a live watcher, paused by a person until 04:17."""
    from d42tui.engine.state import StateStore, write_heartbeat
    from d42tui.watch.status import pause_automation

    store = StateStore(tmp_path / "state")
    write_heartbeat(store.directory, "main", {"pid": 4242, "at": H.NOW, "stale_after": 60,
                                              "state": "ARMED", "primary": "d42-a",
                                              "failures": [0, 3]})
    pause_automation(store, "main", reason="DB upgrade on d42-b, CHG-1234", duration=7200,
                     now=H.NOW, by="alice@jump1")
    app, show = board(H.healthy, store=store)
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_failover_dialog_under_no_color(snap_compare, monkeypatch):
    """Without colour every state reads in words and glyphs: the boxed name field, its
    reversed cursor, the disabled confirm button saying what it needs, Cancel focused."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = handmade_app()

    async def show(pilot) -> None:
        app.show_snapshot(H.with_pipeline(H.primary_down(app.config)))
        await pilot.pause()
        await pilot.press("F")
        await pilot.pause()
        await pilot.press(*"d42")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_primary_down_under_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, show = board(H.primary_down)
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)
