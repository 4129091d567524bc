"""`d42tui watch`, `d42tui pause` and `d42tui resume`: the commands of watch mode.

`watch` runs in the foreground, one log line per event on stderr (text or JSON lines),
exits 0 on SIGTERM/SIGINT, 2 on a bad config and 1 when another watcher holds a pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from ..config.durations import duration_argument
from ..config.errors import ConfigError

if TYPE_CHECKING:  # the config models load when a command runs, not to build `--help`
    from ..config.models import Config, LoadedConfig, PairConfig

_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}


class EventLog:
    """One line per event: `time LEVEL pair event: text`, or a JSON object per line."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None):
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.journald = fmt == "text" and _to_journal(self.stream)

    def __call__(self, level: str, event: str, text: str, pair: str | None = None,
                 **fields: Any) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if self.fmt == "json":
            line = json.dumps({"time": stamp, "level": level, "pair": pair, "event": event,
                               "text": text, **fields}, ensure_ascii=False, default=str)
        else:
            flat = " | ".join(part.strip() for part in text.splitlines() if part.strip())
            prefix = f"<{_PRIORITY.get(level, 6)}>" if self.journald else ""
            line = f"{prefix}{stamp} {level.upper():<8} {pair or '-'} {event}: {flat}"
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # stderr gone: keep watching, the audit log still records every action


def _to_journal(stream: TextIO) -> bool:
    """Whether `stream` is journald's (systemd sets JOURNAL_STREAM=dev:inode): then a <N>
    prefix gives each line its priority."""
    want = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return want == f"{st.st_dev}:{st.st_ino}"


def add_watch_parsers(sub: Any) -> None:
    p = sub.add_parser("watch", help="automatic failover with hysteresis, fencing and alerts")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--pair", action="append", help="only this pair (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="decide and log, send nothing")
    p.add_argument("--log-format", choices=["text", "json"], default="text")
    p.add_argument("--listen", metavar="HOST:PORT", type=_listen_argument,
                   help="serve /metrics, /status and the load-balancer checks here (read-only;"
                        " default host 127.0.0.1; overrides watch.listen in the config)")
    p.add_argument("--name", help="this watcher's name among coordinated watchers "
                                  "(default: the host name)")
    p.add_argument("--source-address", metavar="ADDR",
                   help="poll from this local address (overrides poll.source_address)")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("pause", help="pause automatic failover of a pair (fencing continues)")
    p.add_argument("pair")
    p.add_argument("--reason", required=True, help="why: the next person on call reads it")
    p.add_argument("--for", dest="duration", type=duration_argument,
                   help="how long (30m, 2h); default until resumed")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_pause)

    p = sub.add_parser("resume", help="re-arm automatic failover of a pair")
    p.add_argument("pair")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_resume)


def _listen_argument(text: str) -> str:
    from ..watch.config import parse_listen

    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def watched_config(loaded: LoadedConfig, names: list[str] | None) -> Config:
    """The pairs to watch; ConfigError (exit 2) for an unknown name or an unusable section."""
    from ..watch.config import automation_problems

    config = loaded.config
    known = [p.name for p in config.pairs]
    if unknown := [n for n in names or () if n not in known]:
        raise ConfigError([f"{loaded.path}: no pair named {', '.join(unknown)} "
                           f"(known: {', '.join(known)})"])
    pairs = [p for p in config.pairs if not names or p.name in names]
    problems = [f"{loaded.path}: pairs[{known.index(p.name)}].{problem}"
                for p in pairs for problem in automation_problems(p)]
    if problems:
        raise ConfigError(problems)
    enabled = [p for p in pairs if p.automation.enabled]
    if not enabled:
        raise ConfigError([f"{loaded.path}: nothing to watch: automation.enabled is false for "
                           f"{', '.join(p.name for p in pairs)}"])
    return config.model_copy(update={"pairs": enabled})


def cmd_watch(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from ..watch.config import automation_warnings

    loaded = load_config(getattr(args, "config", None))
    config = watched_config(loaded, args.pair)
    name, config = watcher_identity(config, getattr(args, "name", None),
                                    getattr(args, "source_address", None))
    log = EventLog(args.log_format)
    for warning in loaded.warnings:
        log("warning", "config", warning)
    for i, pair in enumerate(loaded.config.pairs):
        if pair in config.pairs:
            for warning in automation_warnings(pair):
                log("warning", "config", f"{loaded.path}: pairs[{i}].{warning}", pair=pair.name)
    for pair in loaded.config.pairs:
        if not pair.automation.enabled and (not args.pair or pair.name in args.pair):
            log("info", "skipped", "automation.enabled is false: not watched", pair=pair.name)
    listen = getattr(args, "listen", None)
    if listen is not None:
        config = config.model_copy(update={"watch": config.watch.model_copy(
            update={"listen": listen})})
    if (address := config.watch.address) is not None:
        from ..watch.config import listen_warnings

        for warning in listen_warnings(config.watch, address):
            log("warning", "config", f"{loaded.path}: {warning}")
    return asyncio.run(watch(config, log, dry_run=args.dry_run, name=name))


def watcher_identity(config: Config, name: str | None, source: str | None
                     ) -> tuple[str, Config]:
    """`--name` (default: the host name, cut to a usable key) and `--source-address` (set on
    every pair's poll); ConfigError naming the argument when either is unusable."""
    import re
    import socket

    from ..config.models import check_source_address

    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:63].strip("-.") or "watcher"
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name):
        raise ConfigError([f"argument --name: {name[:80]!r} is not a usable name (letters, "
                           "digits, . _ -; at most 63)"])
    if source is not None:
        try:
            source = check_source_address(source)
        except ValueError as exc:
            raise ConfigError([f"argument --source-address: {exc}"]) from None
        config = config.model_copy(update={"pairs": [
            p.model_copy(update={"poll": p.poll.model_copy(update={"source_address": source})})
            for p in config.pairs]})
    return name, config


async def watch(config: Config, log: EventLog, *, dry_run: bool = False,
                name: str | None = None) -> int:
    from ..config.models import state_dir
    from ..watch.lock import WatcherRunning
    from ..watch.service import Watcher

    watcher = Watcher(config, dry_run=dry_run, say=log, name=name)
    endpoints = None
    if (address := config.watch.address) is not None:
        from ..watch.endpoints import EndpointServer

        endpoints = EndpointServer(watcher, config.watch, address)
        try:  # the password and the certificate before anything starts
            await endpoints.prepare()
        except ConfigError as exc:
            log("error", "refused", f"not starting: {'; '.join(exc.lines)}")
            await watcher.aclose(started=False)
            return 2
    try:
        watcher.start()
    except WatcherRunning as exc:
        log("error", "refused", f"not starting: {exc}")
        await watcher.aclose(started=False)
        return 1
    if endpoints is not None:
        try:
            await endpoints.bind()
        except OSError as exc:
            log("error", "refused", f"not starting: cannot listen on {address}: "
                f"{exc.strerror or exc}")
            await watcher.aclose()
            return 1
        log("info", "listening", f"serving /metrics, /status and the health checks on "
            f"{endpoints.url} (read-only{', basic auth' if config.watch.basic_auth else ''})")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal(name: str) -> None:
        if stop.is_set() and main is not None:
            main.cancel()  # a second signal: stop now; the journal lets a restart finish
            return
        log("info", "stopping", f"{name}: stopping after the current round")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum.name)
    names = ", ".join(p.name for p in config.pairs)
    if config.coordination is not None:
        etcd = config.coordination.etcd
        log("info", "coordination", f"coordinated as {watcher.name} on etcd "
            f"{', '.join(etcd.endpoints)} (prefix {etcd.prefix}, lease {etcd.lease_ttl:g}s)"
            + (": DRY RUN, etcd is not used" if dry_run else ""))
    log("info", "started", f"watching {names} (pid {os.getpid()}, state {state_dir(config)})"
        + (": DRY RUN, nothing will be sent" if dry_run else ""))
    try:
        await watcher.run(stop)
    except asyncio.CancelledError:
        log("warning", "stopping", "second signal: stopped mid-round")
    finally:
        if endpoints is not None:
            await endpoints.aclose()
        await watcher.aclose()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log("info", "stopped", f"stopped watching {names}")
    return 0


def _pair(args: argparse.Namespace) -> tuple[Config, PairConfig]:
    from ..config.models import load_config

    config = load_config(getattr(args, "config", None)).config
    try:
        return config, config.pair(args.pair)
    except KeyError:
        known = ", ".join(p.name for p in config.pairs)
        raise ConfigError([f"no pair named {args.pair} (known: {known})"]) from None


def _stores(config: Config):
    from ..config.models import state_dir
    from ..engine.audit import JsonlLog, audit_path
    from ..engine.state import StateStore

    return StateStore(state_dir(config)), JsonlLog(audit_path(config))


def cmd_pause(args: argparse.Namespace) -> int:
    from ..watch.status import pause_automation, read_automation

    config, pair = _pair(args)
    try:
        store, audit = _stores(config)
        now = time.time()
        pause = pause_automation(store, pair.name, reason=args.reason, duration=args.duration,
                                 now=now, audit=audit)
    except ValueError as exc:
        raise ConfigError([f"d42tui pause: {exc}"]) from None
    print(f"pair {pair.name}: automation PAUSED · {pause.text(now)}")
    print("Automatic failover and failback stop; a returning old primary is still fenced.")
    state = read_automation(store, pair, now)
    if state.kind == "OFF":
        print(f"note: {state.text}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from ..watch.status import read_automation, resume_automation

    config, pair = _pair(args)
    store, audit = _stores(config)
    now = time.time()
    cleared = resume_automation(store, pair.name, now=now, audit=audit)
    if cleared:
        print(f"pair {pair.name}: automation resumed (was {'; '.join(p.text(now) for p in cleared)})")
    else:
        print(f"pair {pair.name}: automation was not paused")
    print(f"now: {read_automation(store, pair, now).text}")
    return 0
