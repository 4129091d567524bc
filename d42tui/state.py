"""The local state file: desired roles and asserted modes, written atomically (0600).

The appliance cannot tell its mode, so what the console last asserted is kept
here; the console, the CLI and the watcher share it under a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .config import PairConfig
from .pair import AssertedMode

STATE_VERSION = 1


class StateStore:
    """`state.json` in the state dir. Readers tolerate a missing or damaged file."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "state.json"
        self._lock_path = directory / "state.lock"
        self._cache: dict[str, Any] | None = None
        self._cache_key: tuple[int, int] | None = None

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dir()
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self) -> dict[str, Any]:
        """The whole state; re-read from disk only when the file changed."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {"version": STATE_VERSION, "pairs": {}}
        key = (st.st_mtime_ns, st.st_size)
        if self._cache is not None and key == self._cache_key:
            return self._cache
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict) or not isinstance(data.get("pairs"), dict):
                raise ValueError("not a d42tui state file")
        except (OSError, ValueError):
            data = {"version": STATE_VERSION, "pairs": {}}
        self._cache, self._cache_key = data, key
        return data

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read-modify-write under the lock; the new file replaces the old atomically."""
        with self._locked():
            self._cache = None
            data = json.loads(json.dumps(self.read()))  # a private copy to change
            change(data)
            data["version"] = STATE_VERSION
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".state.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._cache = None
            return data

    # --- roles -------------------------------------------------------------

    def roles(self, pair: PairConfig) -> tuple[str, dict[str, AssertedMode]]:
        """Desired production and asserted modes; the config's declaration until the console acts."""
        names = [a.name for a in pair.appliances]
        entry = self.read()["pairs"].get(pair.name, {})
        desired = entry.get("desired_production")
        if desired not in names:
            desired = pair.production
        modes: dict[str, AssertedMode] = {}
        recorded = entry.get("modes", {}) if isinstance(entry.get("modes"), dict) else {}
        for name in names:
            rec = recorded.get(name)
            if (isinstance(rec, dict) and rec.get("mode") in ("production", "standby")
                    and isinstance(rec.get("at"), (int, float))):
                modes[name] = AssertedMode(rec["mode"], "console", float(rec["at"]))
            else:
                modes[name] = AssertedMode("production" if name == pair.production else "standby")
        return desired, modes

    def record_mode(self, pair: str, appliance: str, mode: str, at: float) -> None:
        """An appliance answered 200 to a mode POST from this console."""
        def change(data: dict[str, Any]) -> None:
            entry = data["pairs"].setdefault(pair, {})
            entry.setdefault("modes", {})[appliance] = {"mode": mode, "at": at}
        self.update(change)

    def set_desired_production(self, pair: str, appliance: str, at: float) -> None:
        def change(data: dict[str, Any]) -> None:
            note_desired(data["pairs"].setdefault(pair, {}), appliance, at)
        self.update(change)

    def desired_since(self, pair: str) -> float | None:
        """When the desired production last moved to the appliance it names now (None: as
        declared in the config): since then the other one has not been production."""
        entry = self.read()["pairs"].get(pair, {})
        since = entry.get("desired_since") if isinstance(entry, dict) else None
        return float(since) if isinstance(since, (int, float)) else None


def note_desired(entry: dict[str, Any], appliance: str, at: float) -> None:
    """Set a pair record's desired production; `desired_since` moves only when it changes
    (a re-assert of the same roles is not a switch)."""
    if entry.get("desired_production") != appliance:
        entry["desired_since"] = at
    entry["desired_production"] = appliance


# --- automation (watch mode): pause, intent journal, heartbeat ----------------------------
# A section of its own: `d42tui.watch` gives these records their meaning; here they are only
# stored. Pause, hold and journal live in state.json (under the same lock as the roles, so a
# promotion and the roles it changes are one atomic write); heartbeats are files of their own,
# rewritten every poll without taking the lock.

def automation_entry(store: StateStore, pair: str) -> dict[str, Any]:
    """A private copy of the pair's `automation` record (pause, hold, journal); {} if none."""
    entry = store.read()["pairs"].get(pair)
    auto = entry.get("automation") if isinstance(entry, dict) else None
    return json.loads(json.dumps(auto)) if isinstance(auto, dict) else {}


def update_pair(store: StateStore, pair: str,
                change: Callable[[dict[str, Any], dict[str, Any]], None]) -> dict[str, Any]:
    """`change(entry, automation)` on the pair's record, in one locked, atomic write."""
    def apply(data: dict[str, Any]) -> None:
        entry = data["pairs"].setdefault(pair, {})
        if not isinstance(entry.get("automation"), dict):
            entry["automation"] = {}
        change(entry, entry["automation"])
    return store.update(apply)


def heartbeat_path(directory: Path, pair: str) -> Path:
    return directory / f"watch-{pair}.heartbeat"


def write_heartbeat(directory: Path, pair: str, record: dict[str, Any]) -> None:
    """Replace the watcher's heartbeat atomically (0600); readers never see half a file."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".heartbeat.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, heartbeat_path(directory, pair))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_heartbeat(directory: Path, pair: str) -> dict[str, Any] | None:
    try:
        data = json.loads(heartbeat_path(directory, pair).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("at"), (int, float)) else None
