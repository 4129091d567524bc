"""The DNS name on the board and the N editor, end to end: the simulator and a real BIND."""

from __future__ import annotations

import pytest

from d42tui.tui.screens.action_dialog import ActionDialog
from d42tui.tui.screens.board import BoardScreen
from d42tui.tui.screens.dns_dialog import DnsDialog

from .conftest import screen_text, sim_app, wait_for

pytestmark = pytest.mark.realserver("named")

A, B = "10.0.0.1", "10.0.0.2"  # the zone starts with d42 -> 10.0.0.1 (d42-a, production)


def board(app) -> BoardScreen:
    return next(s for s in app.screen_stack if isinstance(s, BoardScreen))


def dns_text(app) -> str:
    panel = board(app).dns
    return "\n".join("".join(t for t, _ in line) for line in panel.lines)


def dns_app(sim, named, tmp_path, **kwargs):
    app = sim_app(sim, tmp_path, dns=named.dns_section({"d42-a": A, "d42-b": B}), **kwargs)
    app.dns_watch.every = 0.3  # the console asks every 10 s; a test has no time for that
    return app


async def test_the_board_shows_the_record_then_the_mismatch_and_n_puts_it_right(sim, named,
                                                                                tmp_path):
    app = dns_app(sim, named, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        name = named.fqdn()
        await wait_for(pilot, lambda: f"{name} A {A} → d42-a, TTL 60" in dns_text(app),
                       what="the DNS line")
        assert "MISMATCH" not in dns_text(app)
        await wait_for(pilot, lambda: f"DNS {name} A {A} → d42-a, TTL 60" in screen_text(app),
                       what="the DNS line painted")

        named.set_record(B)  # behind the console's back
        await wait_for(pilot, lambda: "DNS MISMATCH" in dns_text(app), what="the mismatch")
        assert f"points at d42-b ({B}), not production; production is d42-a ({A})" in \
            dns_text(app)
        # painted, the banner too: the appliances are fine, the clients are not
        await wait_for(pilot, lambda: "▲ DNS MISMATCH" in screen_text(app)
                       and "✖ DNS MISMATCH   appliances HEALTHY" in screen_text(app),
                       what="the mismatch painted")
        assert [e.tone for e in app.events if "DNS MISMATCH" in e.text] == ["critical"]

        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, DnsDialog)
                       and app.screen.plan is not None, what="the DNS plan")
        dialog = app.screen
        assert dialog.focused.id == "cancel"
        assert dialog.query_one("#to").value == "d42-a"  # production by default
        text = screen_text(app)
        assert f"point {name} A at d42-a ({A}), TTL 60s" in text
        assert f"DNS now: {B}" in text
        await pilot.press("ctrl+o")  # the other appliance
        assert dialog.query_one("#to").value == "d42-b"
        assert "d42-b is not the asserted production appliance" in screen_text(app)
        await pilot.press("ctrl+o")
        assert dialog.query_one("#to").value == "d42-a"
        assert dialog.query_one("#confirm").disabled
        await pilot.press(*name, "enter")
        await wait_for(pilot, lambda: dialog.phase == "result", timeout=20, what="the result")
        text = screen_text(app)
        assert "✔ DONE" in text, text
        assert "clients follow within ≤ 60 s" in text
        assert named.record() == ((A,), 60)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "MISMATCH" not in dns_text(app), what="mismatch gone")
        assert board(app).banner.model.headline == "✔ HEALTHY"
        assert f"main: DNS {name} points at production again" in [e.text for e in app.events]
        await wait_for(pilot, lambda: "DNS switched: clients follow within ≤ 60 s"
                       in screen_text(app), what="the TTL countdown painted")
        assert not [r for r in sim.requests() if r.method == "POST"]  # DNS only


async def test_n_with_a_typed_address_and_a_cancel_sends_nothing(sim, named, tmp_path):
    app = dns_app(sim, named, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "→ d42-a" in dns_text(app), what="the DNS line")
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, DnsDialog)
                       and app.screen.plan is not None, what="the DNS plan")
        field = app.screen.query_one("#to")
        field.value = "10.0.0.300"
        await pilot.pause()
        assert "is neither an appliance" in screen_text(app)
        assert app.screen.plan is None
        field.value = "10.0.0.9"
        await pilot.pause()
        assert f"point {named.fqdn()} A at 10.0.0.9 (10.0.0.9)" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ActionDialog)
        assert named.record()[0] == (A,)


async def test_the_editor_takes_a_ttl_for_this_switch(sim, named, tmp_path):
    from d42tui.engine.audit import JsonlLog

    app = dns_app(sim, named, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "→ d42-a" in dns_text(app), what="the DNS line")
        named.set_record(B)
        await wait_for(pilot, lambda: "DNS MISMATCH" in dns_text(app), what="the mismatch")
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, DnsDialog)
                       and app.screen.plan is not None, what="the DNS plan")
        dialog = app.screen
        assert dialog.query_one("#ttl").value == "60"  # dns.ttl
        await pilot.press("shift+tab", "shift+tab", "shift+tab")  # back onto the TTL field
        assert dialog.focused.id == "ttl", dialog.focused
        await pilot.press("backspace", "backspace", "x", "0")  # letters are not taken
        assert dialog.query_one("#ttl").value == "0"
        assert dialog.plan is None and "TTL 0: must be between 1 and 86400" in screen_text(app)
        await pilot.press("backspace", *"30")
        assert dialog.plan is not None and dialog.plan.dns_ttl == 30
        text = screen_text(app)
        assert f"point {named.fqdn()} A at d42-a ({A}), TTL 30s (dns.ttl is 60s)" in text
        for _ in range(5):  # Tab on to the confirmation field
            await pilot.press("tab")
            if dialog.focused.id == "name":
                break
        await pilot.press(*named.fqdn(), "enter")
        await wait_for(pilot, lambda: dialog.phase == "result", timeout=20, what="the result")
        text = screen_text(app)
        assert "✔ DONE" in text and "clients follow within ≤ 30 s" in text, text
        assert named.record() == ((A,), 30)
        requests = [r.get("request", "") for r in JsonlLog(app.desk.runner.audit.path).records()]
        assert any(r.endswith(f"→ {A} TTL 30") for r in requests), requests


async def test_failover_moves_dns_and_the_board_counts_down_the_ttl(sim, named, tmp_path):
    app = dns_app(sim, named, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "→ d42-a" in dns_text(app), what="the DNS line")
        sim.set_fault("d42-a", "down")
        await wait_for(pilot, lambda: app.snapshots["main"].verdict.verdict.value ==
                       "PRIMARY DOWN", what="PRIMARY DOWN")
        await pilot.press("F")
        await pilot.pause()
        assert f"DNS: point {named.fqdn()} at d42-b ({B})" in screen_text(app)
        await pilot.press(*"d42-b", "enter")
        await wait_for(pilot, lambda: app.screen.phase == "result", timeout=20, what="result")
        assert "✔ DONE" in screen_text(app), screen_text(app)
        assert named.record()[0] == (B,)
        assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"{B} → d42-b" in dns_text(app) and
                       "MISMATCH" not in dns_text(app), what="the new answer")
        rows = [label for label, _ in board(app).schedule.rows(app.clock())]
        assert "DNS switched: clients follow within ≤ 60 s" in rows
