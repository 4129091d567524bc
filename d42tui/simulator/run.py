"""`d42tui simulate`: run demo pairs in the foreground and write a ready config for them.

`build_demo` and `write_config` are also what the demo and the tests use to get a
console config that points at simulated appliances (pinned TLS, passwords in files).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..config.durations import format_duration
from .core import Simulator

BACKUP_CRON = "0 */4 * * *"
RESTORE_CRON = "30 */4 * * *"
MAX_PAIRS = 100
POLL = {"interval": "1s", "timeout": "1s", "failure_threshold": 3, "recovery_threshold": 2}


def demo_pair_names(index: int) -> tuple[str, str, str]:
    """(pair, production appliance, standby appliance) of the 1-based pair `index`."""
    if index == 1:
        return "main", "d42-a", "d42-b"
    return f"pair-{index}", f"d42-{index}a", f"d42-{index}b"


def build_demo(pairs: int = 1, tls: bool = True,
               http: bool = False) -> tuple[Simulator, dict[str, str]]:
    """A not-yet-started simulator with `pairs` warm HA pairs, and {appliance: password}."""
    if not 1 <= pairs <= MAX_PAIRS:
        raise ValueError(f"pairs must be between 1 and {MAX_PAIRS}")
    sim = Simulator(tls=tls, http=http)
    passwords: dict[str, str] = {}
    for index in range(1, pairs + 1):
        _, production, standby = demo_pair_names(index)
        for name, mode in ((production, "production"), (standby, "standby")):
            passwords[name] = secrets.token_urlsafe(18)
            sim.add_appliance(name, mode=mode, username="d42admin", password=passwords[name],
                              backup_cron=BACKUP_CRON, restore_cron=RESTORE_CRON)
    return sim, passwords


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (also when it already existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            fh.write(text)
    finally:
        if fd >= 0:
            os.close(fd)


def _pairs_of(sim: Simulator) -> list[tuple[str, str, str]]:
    names = sim.names
    if len(names) % 2:
        raise ValueError(f"{len(names)} appliances do not make pairs; pass pairs= explicitly")
    return [(demo_pair_names(i // 2 + 1)[0], names[i], names[i + 1])
            for i in range(0, len(names), 2)]


def write_config(sim: Simulator, path: str | os.PathLike, passwords: dict[str, str],
                 pairs: Sequence[tuple[str, str, str]] | None = None) -> Path:
    """Write a d42tui config (0600) for the running `sim`; returns its path.

    Passwords go to 0600 files next to the config (`<stem>.<appliance>.password`),
    never into the YAML. `pairs` lists (pair name, appliance, appliance); by default
    consecutive appliances pair up, named main, pair-2, … as `build_demo` names them.
    """
    path = Path(path).expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    truth = sim.truth()["appliances"]
    doc_pairs: list[dict[str, Any]] = []
    for pair_name, *members in (pairs if pairs is not None else _pairs_of(sim)):
        settings = [sim.settings(n) for n in members]
        production = next((s for s in settings if truth[s.name]["mode"] == "production"),
                          settings[0])
        standby = next(s for s in settings if s is not production)
        appliances = []
        for s in settings:
            entry: dict[str, Any] = {"name": s.name, "url": sim.url(s.name), "username": s.username}
            if s.name in passwords:
                secret_file = path.parent / f"{path.stem}.{s.name}.password"
                _write_private(secret_file, passwords[s.name] + "\n")
                entry["password_file"] = str(secret_file)
            if s.health_auth:
                entry["health_auth"] = True
            if sim.fingerprint(s.name):
                entry["tls"] = {"fingerprint_sha256": sim.fingerprint(s.name)}
            if s.api:
                entry["api"] = {"url": sim.api_url(s.name), "username": s.username}
                if "password_file" in entry:
                    entry["api"]["password_file"] = entry["password_file"]
            # The site's own signal of the mode, here the simulator's truth: a mode flipped
            # by hand (POST /mode on the control API) shows on the board.
            entry["mode_probe"] = {"url": f"{sim.control_url}/truth",
                                   "json_path": f"appliances.{s.name}.mode",
                                   "production": "production", "standby": "standby"}
            appliances.append(entry)
        pair: dict[str, Any] = {"name": pair_name, "production": production.name,
                                "timezone": production.timezone, "appliances": appliances}
        if standby.restore_cron or production.restore_cron:
            pair["restore_cron"] = standby.restore_cron or production.restore_cron
            pair["restore_duration"] = format_duration(standby.restore_duration)
        if production.backup_cron or standby.backup_cron:
            pair["backup_cron"] = production.backup_cron or standby.backup_cron
        pair["poll"] = dict(POLL)
        doc_pairs.append(pair)
    document = {"pairs": doc_pairs, "simulator": {"control_url": sim.control_url}}
    header = ("# Written by `d42tui simulate` for simulated appliances on 127.0.0.1.\n"
              "# Passwords are in the *.password files next to this one.\n")
    _write_private(path, header + yaml.safe_dump(document, sort_keys=False))
    return path


def _describe(sim: Simulator, config_path: Path) -> str:
    truth = sim.truth()["appliances"]
    lines = [f"d42tui simulator: {len(sim.names)} appliances on 127.0.0.1"]
    for pair_name, *members in _pairs_of(sim):
        lines.append(f"  pair {pair_name}")
        for name in members:
            extra = f"  (plain HTTP {sim.http_url(name)})" if sim.http_url(name) else ""
            lines.append(f"    {name:<10} {truth[name]['mode']:<10} {sim.url(name)}{extra}")
            if sim.fingerprint(name):
                lines.append(f"               SHA-256 {sim.fingerprint(name)}")
    lines += [
        f"  control API  {sim.control_url}",
        f"  config       {config_path}  (passwords in 0600 files next to it)",
        "",
        f"Console:  d42tui --config {config_path}",
        f"Fault:    curl -X POST {sim.control_url}/fault "
        "-d '{\"appliance\": \"d42-a\", \"kind\": \"down\"}'",
        f"Truth:    curl {sim.control_url}/truth",
        "Ctrl-C stops the simulator.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `d42tui simulate`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="d42tui simulate",
        description="Run simulated Device42 appliance pairs on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--pairs", type=int, default=1, metavar="N",
                        help=f"number of warm HA pairs (1-{MAX_PAIRS}, default 1)")
    parser.add_argument("--http", action="store_true",
                        help="also serve each appliance on a plain-HTTP port (like :4242)")
    parser.add_argument("--config-out", metavar="PATH", type=Path,
                        help="where to write the console config "
                             "(default: <state dir>/simulated-pair.yaml)")
    parser.add_argument("--stop-on-eof", action="store_true",
                        help="for a parent process that owns the simulator: print one line "
                             "'ready CONTROL_URL' once the config is written, and stop when standard "
                             "input closes (so it never outlives its parent)")
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= MAX_PAIRS:
        parser.error(f"--pairs must be between 1 and {MAX_PAIRS}")
    if args.config_out is not None:
        config_path = args.config_out
    else:
        from ..config.models import state_dir

        config_path = state_dir() / "simulated-pair.yaml"

    sim, passwords = build_demo(args.pairs, http=args.http)
    stopping = threading.Event()
    previous = _install_stop_handlers(stopping)
    try:
        sim.start()
        try:
            written = write_config(sim, config_path, passwords)
        except OSError as exc:
            print(f"d42tui simulate: cannot write {config_path}: {exc.strerror}", file=sys.stderr)
            return 1
        if args.stop_on_eof:
            threading.Thread(target=_stop_at_eof, args=(stopping,), daemon=True).start()
            print(f"ready {sim.control_url}", flush=True)
        else:
            print(_describe(sim, written), flush=True)
        while not stopping.wait(0.5):
            pass
        if not args.stop_on_eof:
            print("d42tui simulate: stopping", flush=True)
        return 0
    except KeyboardInterrupt:  # no handler could be installed (not the main thread)
        return 0
    finally:
        sim.stop()
        _restore_handlers(previous)


def _stop_at_eof(stopping: threading.Event) -> None:
    """Set `stopping` when standard input closes: the parent exited, or let go of us."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    stopping.set()


def _install_stop_handlers(stopping: threading.Event) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stopping.set())
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
