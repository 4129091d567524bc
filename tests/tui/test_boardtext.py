"""The board's words, from hand-made snapshots: verdicts, cards, buckets, ages, events."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from d42tui.tui.policy import MUTATING, TITLES, ActionPolicy
from d42tui.tui.text.boardtext import (
    age_text,
    banner_model,
    card_model,
    latency_bucket,
    next_fire,
    pair_row,
    restore_window,
)
from d42tui.tui.timeline_events import snapshot_events

from . import handmade as H


def test_latency_is_bucketed_with_hysteresis():
    assert latency_bucket(None) == "-"
    assert latency_bucket(0.004) == "<50 ms"
    assert latency_bucket(0.055) == "<200 ms"
    # near the 50 ms boundary the previous bucket holds, so a jittery link does not repaint
    assert latency_bucket(0.055, previous="<50 ms") == "<50 ms"
    assert latency_bucket(0.070, previous="<50 ms") == "<200 ms"
    assert latency_bucket(0.7) == "<1 s"
    assert latency_bucket(1.5) == "≥1 s"


def test_health_figures_repaint_at_most_once_a_minute_unless_a_threshold_is_crossed():
    config = H.make_config()
    pair = config.pairs[0]
    a = pair.appliances[0]
    snap = H.healthy(config)
    first = card_model(pair, a, H.up("d42-a", cpu=12), snap.modes["d42-a"], H.NOW)
    later = card_model(pair, a, H.up("d42-a", cpu=14), snap.modes["d42-a"], H.NOW + 30, first)
    assert later == first  # nothing an operator needs changed: no repaint
    minute = card_model(pair, a, H.up("d42-a", cpu=14), snap.modes["d42-a"], H.NOW + 61, later)
    assert "CPU 14%" in minute.plain()
    hot = card_model(pair, a, H.up("d42-a", cpu=90), snap.modes["d42-a"], H.NOW + 62, minute)
    assert "CPU 90% WARN" in hot.plain()  # a threshold crossing shows at once


def test_ages_are_at_minute_resolution_beyond_a_minute():
    assert [age_text(s) for s in (0, 59, 60, 185, 3600 + 240, 2 * 86400 + 3 * 3600)] == [
        "<1 min", "<1 min", "1 min", "3 min", "1 h 04 min", "2 d 3 h"]


def test_healthy_cards_and_banner():
    config = H.make_config()
    pair = config.pairs[0]
    snap = H.healthy(config)
    banner = banner_model(pair, snap)
    assert banner.tone == "ok" and banner.headline == "✔ HEALTHY"
    assert "production d42-a · standby d42-b" in banner.detail
    a = card_model(pair, pair.appliances[0], snap.views["d42-a"], snap.modes["d42-a"], H.NOW)
    text = a.plain()
    assert "production · declared" in text
    assert "● UP · <50 ms" in text
    assert "CPU 12% · mem free 64% · disk 41%" in text
    assert "backup Backup was good @ 05-14 00:00" in text
    b = card_model(pair, pair.appliances[1], snap.views["d42-b"], snap.modes["d42-b"], H.NOW)
    assert "restore window off · next 04:30 UTC" in b.plain()


def test_down_card_names_the_reason_and_counts_failures():
    config = H.make_config()
    pair = config.pairs[0]
    snap = H.primary_down(config)
    card = card_model(pair, pair.appliances[0], snap.views["d42-a"], snap.modes["d42-a"], H.NOW)
    assert card.tone == "critical"
    assert "✖ DOWN (connection refused)" in card.plain()
    assert "failures 5 · last good 3 min ago" in card.plain()
    banner = banner_model(pair, snap)
    assert banner.headline == "✖ PRIMARY DOWN" and banner.tone == "critical"
    assert "d42-a (production) is down" in banner.reasons[0][0]


def test_thresholds_are_said_in_words_not_only_colour():
    config = H.make_config()
    pair = config.pairs[0]
    view = H.up("d42-a", cpu=90, disk=70)
    snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")})
    card = card_model(pair, pair.appliances[0], view, snap.modes["d42-a"], H.NOW)
    assert "CPU 90% WARN" in card.plain() and "disk 70% WARN" in card.plain()
    assert banner_model(pair, snap).headline == "▲ DEGRADED"
    view = H.up("d42-a", cpu=97)
    snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")})
    card = card_model(pair, pair.appliances[0], view, snap.modes["d42-a"], H.NOW)
    assert "CPU 97% CRIT" in card.plain()
    assert banner_model(pair, snap).headline == "✖ DEGRADED"


def test_restore_window_on_the_standby_card():
    config = H.make_config()
    pair = config.pairs[0]
    snap = H.healthy(config)
    during = H.NOW + 2 * 3600 + 12 * 60 + 40  # 04:30:10, the restore started 10 s ago
    card = card_model(pair, pair.appliances[1], snap.views["d42-b"], snap.modes["d42-b"], during)
    assert "RESTORE WINDOW ON until 05:00 UTC" in card.plain()


def test_a_card_whose_latest_poll_failed_says_its_figures_are_old():
    config = H.make_config()
    pair = config.pairs[0]
    snap = H.primary_down(config)
    down = card_model(pair, pair.appliances[0], snap.views["d42-a"], snap.modes["d42-a"], H.NOW)
    text = down.plain()
    assert "CPU 12%" in text and "↑ ↓ as of the last good poll" in text
    assert "DB 84 MB" not in text  # the line says where the figures come from instead
    figures = down.lines[4]
    assert figures and all(tone == "dim" for _, tone in figures)
    assert all(tone == "dim" for _, tone in down.lines[6])  # production's backup status too
    up = card_model(pair, pair.appliances[1], snap.views["d42-b"], snap.modes["d42-b"], H.NOW)
    assert "last good poll" not in up.plain() and "DB 84 MB" in up.plain()


def test_split_brain_and_no_production_banners():
    config = H.make_config()
    pair = config.pairs[0]
    assert banner_model(pair, H.split_brain(config)).headline == "✖ SPLIT BRAIN"
    assert banner_model(pair, H.no_production(config)).headline == "✖ NO PRODUCTION"
    assert banner_model(pair, None).headline == "? UNKNOWN"


def test_a_wrong_service_name_heads_the_banner_even_when_the_appliances_are_fine():
    from d42tui.dns.lookup import DnsProblem, DnsProblemKind
    from d42tui.engine.dnscheck import pair_dns_problem

    config = H.make_config(dns=True)
    pair = config.pairs[0]
    healthy = H.healthy(config)
    right = pair_dns_problem(pair, healthy, H.dns_answer("10.0.0.1"))
    assert right is None
    assert banner_model(pair, healthy, right).headline == "✔ HEALTHY"

    wrong = pair_dns_problem(pair, healthy, H.dns_answer("10.0.0.2"))
    assert wrong is not None and wrong.misdirects and wrong.text.startswith("DNS MISMATCH")
    banner = banner_model(pair, healthy, wrong)
    assert banner.headline == "✖ DNS MISMATCH" and banner.tone == "critical"
    assert "HEALTHY" not in banner.headline  # never "✔ HEALTHY" above a wrong name
    assert banner.detail.startswith("appliances HEALTHY · pair main")

    down = H.primary_down(config)  # a failover half done: the name still on the dead one
    mismatch = DnsProblem(DnsProblemKind.MISMATCH, "DNS MISMATCH: x")
    assert banner_model(pair, down, mismatch).headline == "✖ PRIMARY DOWN · DNS MISMATCH"
    unknown = DnsProblem(DnsProblemKind.UNKNOWN,
                         "DNS UNKNOWN: cannot tell where d42.example.com A points: timeout")
    banner = banner_model(pair, healthy, unknown)
    assert banner.headline == "▲ DNS UNKNOWN" and banner.tone == "warning"

    row = pair_row(pair, healthy, dns_problem=wrong)
    assert row.verdict == "✖ DNS MISMATCH" and row.tone == "critical"
    assert row.summary == wrong.text


def test_pair_row_for_the_many_pairs_list():
    config = H.make_config(2)
    row = pair_row(config.pairs[1], H.primary_down(config, 1))
    assert row.verdict == "✖ PRIMARY DOWN"
    assert row.production == "d42-a-2 ✖" and row.standby == "d42-b-2 ●"


def test_timeline_events_from_successive_snapshots():
    config = H.make_config()
    first = H.healthy(config)
    events = snapshot_events(None, first)
    assert [e.text for e in events][-1] == "main: start → HEALTHY"
    suspect = H.snapshot(config, {"d42-a": H.failing("d42-a", 1), "d42-b": H.up("d42-b")})
    down = H.primary_down(config)
    texts = [e.text for e in snapshot_events(first, suspect) + snapshot_events(suspect, down)]
    assert texts[0].startswith("d42-a UP → SUSPECT: connection refused")
    assert texts[1].startswith("main: HEALTHY → DEGRADED")
    assert texts[2].startswith("d42-a SUSPECT → DOWN")
    assert texts[3].startswith("main: DEGRADED → PRIMARY DOWN")
    assert snapshot_events(down, down) == []


def test_schedule_adapters_speak_epoch_seconds():
    config = H.make_config()
    pair = config.pairs[0]
    assert next_fire("0 */4 * * *", ZoneInfo("UTC"), H.NOW) - H.NOW == 3600 + 42 * 60 + 30
    assert restore_window(pair, H.NOW) is None
    start, end = restore_window(pair, H.NOW + 2 * 3600 + 12 * 60 + 40)
    assert end - start == pair.restore_duration and (end - H.NOW) == 2 * 3600 + 42 * 60 + 30


def test_read_only_is_one_policy_for_every_mutating_action():
    assert set(MUTATING) == {"promote", "demote", "failover", "failback", "reassert", "dns",
                            "switchover",
                            "automation"}
    assert set(TITLES) == set(MUTATING)  # every action has its palette title
    rw, ro = ActionPolicy(False), ActionPolicy(True)
    for action in MUTATING:
        assert rw.state(action) is True and rw.refusal(action) is None
        assert ro.state(action) is None and "read-only" in ro.refusal(action)
    assert ro.state("poll_now") is True and ro.refusal("toggle_pause") is None


def test_status_output_never_cuts_the_backup_text_the_card_marks_its_cut():
    from d42tui.cli.report import status_table

    config = H.make_config()
    pair = config.pairs[0]
    text = "Backup not run since last reboot. Please check."
    view = H.up("d42-a", backup=text, level="warning")
    snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")})
    assert text in status_table(config, {"main": snap})  # what `status | grep` sees
    card = card_model(pair, pair.appliances[0], view, snap.modes["d42-a"], H.NOW).plain()
    assert "backup ▲ CHECK Backup not run since la… @" in card
