"""Shared fixtures. Real servers (named, sshd) skip locally when missing, fail under CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def require_binary(name: str, *candidates: str) -> str:
    """Path of a server binary; skip (locally) or fail (CI=true) when it is missing."""
    for path in (shutil.which(name), *candidates):
        if path and Path(path).exists():
            return path
    reason = f"{name} is not installed (Debian: see .ci/run)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: real-server tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    """Every test gets its own state dir and no inherited config."""
    monkeypatch.setenv("D42TUI_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("D42TUI_CONFIG", raising=False)
