"""What loads when: start-up cost is imports, so the expensive ones stay where they are used.

Each check runs in a fresh interpreter (this one has loaded everything already)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .tui.ptyterm import ROOT


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


@pytest.mark.parametrize("code", [
    # every command builds the whole parser before it knows what it will run
    "from d42tui.cli.main import build_parser; build_parser().parse_args(['--demo'])",
    # the demo starts its simulator process before anything heavy is loaded
    "import d42tui.simulator.process",
])
def test_the_first_steps_load_no_heavy_library(code):
    loaded = _loaded_after(code)
    assert not loaded & {"pydantic", "httpx", "textual", "yaml", "cryptography", "croniter"}


def test_httpx_comes_without_its_command_line_tool():
    loaded = _loaded_after("import d42tui.appliance.client")
    assert "httpx" in loaded
    assert not loaded & {"click", "pygments"}
