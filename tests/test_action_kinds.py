"""The one table of action kinds drives the CLI verbs, the console keys and the read-only
policy: a kind added to the table appears in each, and none lists its own."""

from __future__ import annotations

import subprocess
import sys

from d42tui.actions.kinds import ACTIONS, BY_KIND, ActionKind


def test_every_plan_kind_has_one_row():
    assert set(BY_KIND) == set(ActionKind)
    assert len({spec.key for spec in ACTIONS}) == len(ACTIONS)  # one key each


def test_the_console_binds_each_key_to_its_action_and_the_policy_refuses_each():
    from d42tui.tui.app import ConsoleApp
    from d42tui.tui.policy import ActionPolicy

    bound = {b.key: b.action for b in ConsoleApp.BINDINGS}
    for spec in ACTIONS:
        assert bound[spec.key] == spec.name
        assert hasattr(ConsoleApp, f"action_{spec.name}"), spec.name
        assert ActionPolicy(read_only=True).refusal(spec.name).startswith(
            f"read-only console: {spec.name} refused ({spec.what})")
        assert ActionPolicy().refusal(spec.name) is None


def test_the_cli_has_a_verb_for_each_headless_action():
    out = subprocess.run([sys.executable, "-m", "d42tui", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    shown = " ".join(out.stdout.split())  # argparse wraps long help lines
    for spec in ACTIONS:
        if spec.cli_help is not None:
            assert spec.name in shown and spec.cli_help in shown, spec.name
