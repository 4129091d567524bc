"""The local state file: desired roles and asserted modes, written atomically (0600).

The appliance cannot tell its mode, so what the console last asserted is kept
here; the console, the CLI and the watcher share it under a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..config.models import PairConfig
from .pair import AssertedMode

STATE_VERSION = 1
MODES = ("production", "standby")


class StateDamaged(Exception):
    """The state file cannot be trusted: it is never read as empty nor written over.

    Every reader reports it; nothing acts on the pair until a person confirms the roles."""

    def __init__(self, path: Path, problem: str, kept: Path | None = None,
                 pair: str | None = None):
        self.path, self.problem, self.kept, self.pair = path, problem, kept, pair
        where = f" (a copy is kept as {kept.name})" if kept is not None else ""
        fix = (f"d42tui confirm-roles {pair} --production NAME" if pair else
               "d42tui confirm-roles PAIR --production NAME")
        super().__init__(f"the state file {path} {problem}{where}: the console cannot tell "
                         f"which appliance it last made production; nothing acts until a "
                         f"person confirms the roles ({fix})")


def state_problem(data: Any) -> str | None:
    """What is wrong with a parsed state file, in words; None when it passes its checks."""
    if not isinstance(data, dict):
        return "is not a d42tui state file (not a JSON object)"
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return "has no version"
    if version > STATE_VERSION:
        return f"is version {version}, newer than this d42tui reads ({STATE_VERSION})"
    pairs = data.get("pairs")
    if not isinstance(pairs, dict):
        return "has no pairs record"
    unconfirmed = data.get("unconfirmed", [])
    if not isinstance(unconfirmed, list) or not all(isinstance(n, str) for n in unconfirmed):
        return "has an unreadable 'unconfirmed' list"
    for name, entry in pairs.items():
        where = f"pairs.{name}"
        if not isinstance(entry, dict):
            return f"has a {where} that is not a record"
        desired = entry.get("desired_production")
        if desired is not None and not isinstance(desired, str):
            return f"has a {where}.desired_production that is not a name"
        since = entry.get("desired_since")
        if since is not None and not _number(since):
            return f"has a {where}.desired_since that is not a time"
        modes = entry.get("modes", {})
        if not isinstance(modes, dict):
            return f"has a {where}.modes that is not a record"
        for appliance, rec in modes.items():
            if not (isinstance(rec, dict) and rec.get("mode") in MODES and _number(rec.get("at"))):
                return f"has an unreadable {where}.modes.{appliance}"
        for key in ("automation", "journal"):
            if key in entry and not isinstance(entry[key], dict):
                return f"has a {where}.{key} that is not a record"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class StateStore:
    """`state.json` in the state dir. A missing file is the config's declaration; a damaged
    one raises `StateDamaged` to every reader and writer (it is kept aside, never replaced)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "state.json"
        self.previous = directory / "state.json.prev"
        self._lock_path = directory / "state.lock"
        self._cache: dict[str, Any] | None = None
        self._cache_key: tuple[int, int] | None = None
        self._damage: StateDamaged | None = None

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
        """The whole state; re-read from disk only when the file changed. Raises
        `StateDamaged` for a file that does not parse or fails its checks."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._damage = None
            return {"version": STATE_VERSION, "pairs": {}}
        key = (st.st_mtime_ns, st.st_size)
        if key == self._cache_key:
            if self._damage is not None:
                raise self._damage
            if self._cache is not None:
                return self._cache
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise StateDamaged(self.path, f"cannot be read ({exc.strerror})") from None
        try:
            data: Any = json.loads(raw)
            problem = state_problem(data)
        except (ValueError, RecursionError):
            problem = ("is empty" if not raw.strip() else
                       "does not parse as JSON (truncated or damaged)")
        if problem is not None:
            self._cache, self._cache_key = None, key
            self._damage = StateDamaged(self.path, problem, self._keep_aside(raw))
            raise self._damage
        self._cache, self._cache_key, self._damage = data, key, None
        return data

    def _keep_aside(self, raw: bytes) -> Path | None:
        """A copy of the damaged file for a person to read (once per content)."""
        digest = hashlib.sha256(raw).hexdigest()[:12]
        for old in self.directory.glob("state.json.corrupt-*"):
            if old.name.endswith(digest):
                return old
        stamp = time.strftime("%Y%m%dT%H%M%S")
        kept = self.directory / f"state.json.corrupt-{stamp}-{digest}"
        try:
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
        except OSError:
            return None
        return kept

    def damage(self) -> StateDamaged | None:
        """The damage every reader reports, or None when the file can be read."""
        try:
            self.read()
        except StateDamaged as exc:
            return exc
        return None

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read-modify-write under the lock; the new file replaces the old atomically and the
        old one stays as `state.json.prev`. A damaged file is never written over."""
        with self._locked():
            self._cache_key = None
            data = json.loads(json.dumps(self.read()))  # a private copy to change
            change(data)
            data["version"] = STATE_VERSION
            self._write(data)
            return data

    def _write(self, data: dict[str, Any], keep_previous: bool = True) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            if keep_previous and self.path.exists():
                # the previous generation: a hard link to the old file (rename never edits
                # it in place), so a person can see what the state said before this write
                link = tmp + ".prev"
                os.link(self.path, link)
                os.replace(link, self.previous)
            os.replace(tmp, self.path)
            _fsync_dir(self.directory)
        except BaseException:
            for leftover in (tmp, tmp + ".prev"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
            raise
        finally:
            self._cache_key = None

    def confirm_roles(self, pair: PairConfig, production: str, at: float,
                      all_pairs: list[str]) -> Path | None:
        """A person says which appliance is production: the pair's roles start again from
        that. Over a damaged file, a new file is started (the damaged one stays kept aside)
        and the config's other pairs wait for their own confirmation. Returns the copy."""
        names = [a.name for a in pair.appliances]
        if production not in names:
            raise ValueError(f"{production} is not an appliance of pair {pair.name} "
                             f"({', '.join(names)})")
        with self._locked():
            self._cache_key = None
            damage = self.damage()
            data = ({"version": STATE_VERSION, "pairs": {},
                     "unconfirmed": [n for n in all_pairs if n != pair.name]}
                    if damage is not None else json.loads(json.dumps(self.read())))
            entry = data["pairs"].setdefault(pair.name, {})
            entry.pop("journal", None)
            note_desired(entry, production, at)
            entry["modes"] = {n: {"mode": "production" if n == production else "standby",
                                  "at": at} for n in names}
            data["unconfirmed"] = [n for n in data.get("unconfirmed", []) if n != pair.name]
            if not data["unconfirmed"]:
                data.pop("unconfirmed")
            data["version"] = STATE_VERSION
            if damage is not None:
                data["recovered_from"] = str(damage.kept or damage.path)
            self._write(data, keep_previous=damage is None)  # .prev keeps the last good one
            self._damage = None
            return damage.kept if damage is not None else None

    # --- roles -------------------------------------------------------------

    def roles(self, pair: PairConfig) -> tuple[str, dict[str, AssertedMode]]:
        """Desired production and asserted modes; the config's declaration until the console acts."""
        names = [a.name for a in pair.appliances]
        try:
            data = self.read()
        except StateDamaged as exc:  # said with the pair's own command to repair it
            raise StateDamaged(exc.path, exc.problem, exc.kept, pair.name) from None
        if pair.name in data.get("unconfirmed", []):
            raise StateDamaged(self.path, f"was rebuilt from a damaged file and pair "
                               f"{pair.name}'s roles are not confirmed yet", pair=pair.name)
        entry = data["pairs"].get(pair.name, {})
        desired = entry.get("desired_production")
        if desired is None:
            desired = pair.production
        elif desired not in names:
            raise StateDamaged(self.path, f"names {desired!r} as pair {pair.name}'s production, "
                               "which is not one of its appliances", pair=pair.name)
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

    @staticmethod
    def declared(pair: PairConfig) -> tuple[str, dict[str, AssertedMode]]:
        """The roles as the config declares them (what the board shows, marked as such,
        while the state file cannot be read)."""
        return pair.production, {a.name: AssertedMode(
            "production" if a.name == pair.production else "standby") for a in pair.appliances}

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


def _fsync_dir(directory: Path) -> None:
    """The rename itself durable: a power cut after it must not bring the old file back."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
