"""The `d42tui` command: the console by default, and the headless commands.

Every command shares the engine with the console. Exit codes: 0 fine, 2 usage or
config error (one line per problem, no traceback); `check` uses 0/1/2/3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from .. import __version__
from ..config.errors import ConfigError
from ..text import quoted
from .common import oneshot_config, poll_all_once

if TYPE_CHECKING:  # the models (pydantic) load when a command reads its config
    from ..config.models import Config, LoadedConfig


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _load(path: str | None) -> LoadedConfig:
    from ..config.models import load_config

    return load_config(path)


def _select_pairs(config: Config, names: Sequence[str] | None) -> Config:
    if not names:
        return config
    known = {p.name for p in config.pairs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError([f"no pair named {', '.join(unknown)} (known: {', '.join(sorted(known))})"])
    return config.model_copy(update={"pairs": [p for p in config.pairs if p.name in names]})


def cmd_status(args: argparse.Namespace) -> int:
    from .report import status_json, status_table

    loaded = _load(args.config)
    config = oneshot_config(_select_pairs(loaded.config, args.pair))
    snaps = asyncio.run(poll_all_once(config))
    if args.json:
        print(json.dumps(status_json(config, snaps, time.time()), indent=2))
    else:
        for warning in loaded.warnings:
            _err(f"warning: {warning}")
        sys.stdout.write(status_table(config, snaps))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..engine.dnscheck import dns_problems
    from .report import check_line, watched_automation

    try:
        loaded = _load(args.config)
        config = oneshot_config(_select_pairs(loaded.config, [args.pair] if args.pair else None))
    except ConfigError as exc:
        # A monitoring plugin must not page CRITICAL for its own broken config; its status
        # line is one line, so the rest are counted and left to `config check`.
        more = len(exc.lines) - 1
        print(f"D42 PAIR UNKNOWN - config: {exc.lines[0]}"
              + (f" (and {more} more: d42tui config check)" if more else ""))
        return 3
    snaps, answers = asyncio.run(_check_round(config))
    code, line = check_line(config, snaps, watched_automation(config, time.time()),
                            dns_problems(config, snaps, answers))
    print(line)
    return code


async def _check_round(config: Config):
    """One poll of every appliance and, for pairs with a `dns:` section, one question to
    the authoritative servers, at the same time."""
    with_dns = [p for p in config.pairs if p.dns is not None]
    if not with_dns:
        return await poll_all_once(config), {}
    from ..dns import query

    snaps, *answers = await asyncio.gather(poll_all_once(config),
                                           *(query(p.dns) for p in with_dns))
    return snaps, {p.name: a for p, a in zip(with_dns, answers, strict=True)}


def cmd_backup(args: argparse.Namespace) -> int:
    from .report import pipeline_lines

    loaded = _load(args.config)
    config = oneshot_config(_select_pairs(loaded.config, args.pair))
    snaps = asyncio.run(poll_all_once(config))
    if args.json:
        print(json.dumps({"schema_version": 1, "pairs": [
            {"name": p.name, "pipeline": snaps[p.name].pipeline.to_dict()
             if snaps[p.name].pipeline else None} for p in config.pairs]}, indent=2))
        return 0
    worst = 0
    for pair in config.pairs:
        snap = snaps[pair.name]
        print(f"PAIR {pair.name}")
        for line in pipeline_lines(pair, snap, time.time()):
            print(f"  {line}")
        if snap.pipeline and snap.pipeline.warnings:
            worst = 1
    return worst


def cmd_config_check(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ..backup.pipeline import assess_pair
    from ..config.paths import storage_problems

    loaded = _load(args.config)
    for warning in loaded.warnings:
        print(f"warning: {warning}")
    pairs = loaded.config.pairs
    for i, pair in enumerate(pairs):
        # Schedule problems need no connection: a restore before its backup lands, overlaps.
        for w in assess_pair(pair, [], now=datetime.now(UTC)):
            print(f"warning: {loaded.path}: pairs[{i}]: {w.severity}: {w.text}")
    if problems := storage_problems(loaded.config, loaded.path):
        raise ConfigError(problems)
    read = ""
    if args.secrets:
        count = _check_secrets(loaded)
        if count is None:
            return 2
        read = f"; {count} secret{'s' if count != 1 else ''} read (values not shown)"
    print(f"{loaded.path}: OK, {len(pairs)} pair{'s' if len(pairs) != 1 else ''}: "
          + ", ".join(f"{p.name} ({' + '.join(a.name for a in p.appliances)})" for p in pairs)
          + read)
    return 0


def _check_secrets(loaded: LoadedConfig) -> int | None:
    """Read every secret source; print each that fails (on stderr, with how to see why)
    and return None, else the number read."""
    from ..config.secretcheck import secret_problems, secret_source_count

    problems = secret_problems(loaded.config)
    for problem in problems:
        _err(problem.line(loaded.path))
        if problem.hint:
            _err(f"    {problem.hint}")
    total = secret_source_count(loaded.config)
    if problems:
        _err(f"{loaded.path}: {len(problems)} of {total} secrets cannot be read")
        return None
    return total


def cmd_fingerprint(args: argparse.Namespace) -> int:
    from ..appliance.tlsinfo import FingerprintError, fetch_certificate
    from ..config.urls import split_http_url

    try:
        split_http_url(args.url if "://" in args.url else f"https://{args.url}",
                       schemes=("https",))
    except ValueError as exc:
        _err(f"d42tui fingerprint: {exc}")
        return 2
    try:
        info = fetch_certificate(args.url, timeout=args.timeout)
    except FingerprintError as exc:
        _err(f"d42tui fingerprint: {exc}")
        return 1
    print(f"URL:         {args.url}")
    print(f"subject:     {info.subject}")
    print(f"issuer:      {info.issuer}")
    print(f"expires:     {info.not_after}{'  (EXPIRED)' if info.expired else ''}")
    print(f"SHA-256:     {info.fingerprint}")
    print("Compare it with the appliance's console before you trust it; then add to its config:")
    print("    tls:")
    print(f"      fingerprint_sha256: \"{info.fingerprint}\"")
    return 0


def _seconds_argument(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 120:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number of seconds "
                                         "between 0 and 120")
    return seconds


def cmd_simulate(argv: list[str]) -> int:
    if argv and argv[0] in ("fault", "truth", "version"):
        return _simulate_control(argv)
    from ..simulator.run import main as simulate_main

    return simulate_main(argv)


def _simulate_control(argv: list[str]) -> int:
    from ..simulator import FAULT_KINDS, ControlClient, SimulatorUnreachable

    parser = argparse.ArgumentParser(prog=f"d42tui simulate {argv[0]}")
    parser.add_argument("--config")
    if argv[0] == "fault":
        parser.add_argument("appliance")
        parser.add_argument("kind", choices=FAULT_KINDS)
        parser.add_argument("--ms", type=int, help="delay for the slow fault")
        parser.add_argument("--from", dest="source", metavar="ADDR",
                            help="only for clients from this address (e.g. 127.0.0.2)")
    elif argv[0] == "version":
        parser.add_argument("appliance")
        parser.add_argument("version", help="the version its health answer reports")
    else:
        parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv[1:])
    loaded = _load(args.config)
    if loaded.config.simulator is None:
        raise ConfigError([f"{loaded.path}: simulator.control_url: not set "
                           "(written by `d42tui simulate`)"])
    client = ControlClient(loaded.config.simulator.control_url)
    try:
        if argv[0] == "fault":
            truth = client.set_fault(args.appliance, args.kind, args.ms, args.source)
        elif argv[0] == "version":
            truth = client.set_version(args.appliance, args.version)
        else:
            truth = client.truth()
    except SimulatorUnreachable as exc:
        _err(f"d42tui simulate: {exc}")
        return 1
    except ValueError as exc:
        _err(f"d42tui simulate: {exc}")
        return 2
    if argv[0] == "truth" and not args.json:
        for name, item in truth["appliances"].items():
            print(f"{name}: {item['mode']} (fault: {item['fault']})")
    else:
        print(json.dumps(truth))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="d42tui", description="Terminal control console for a Device42 warm HA pair.")
    parser.add_argument("--version", action="version", version=f"d42tui {__version__}")
    parser.add_argument("--config", help="config file (default: $D42TUI_CONFIG or the user config dir)")
    parser.add_argument("--demo", action="store_true", help="run on a built-in simulated pair")
    parser.add_argument("--read-only", action="store_true", help="refuse every mutating action")
    parser.add_argument("--theme", help="theme name (see themes/)")
    parser.add_argument("--mouse", action="store_true", help="enable mouse support")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("status", help="poll every appliance once and print the pair status")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="JSON (schema: docs/status-json.md)")
    p.add_argument("--pair", action="append", help="only this pair (repeatable)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", help="monitoring-plugin check (Nagios/Icinga exit codes)")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--pair")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("config", help="config file commands")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate the config without connecting")
    c.add_argument("--config", default=argparse.SUPPRESS)
    c.add_argument("--secrets", action="store_true",
                   help="also read every secret source (runs password commands; shows no value)")
    c.set_defaults(func=cmd_config_check)

    p = sub.add_parser("backup", help="the backup pipeline: file, schedules, the standby's data age")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--pair", action="append")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("fingerprint", help="show a server certificate's SHA-256 fingerprint")
    p.add_argument("url")
    p.add_argument("--timeout", type=_seconds_argument, default=5.0, help="seconds (at most 120)")
    p.set_defaults(func=cmd_fingerprint)

    from .actions import add_action_parsers

    add_action_parsers(sub)
    from .drill import add_drill_parser

    add_drill_parser(sub)
    from .dns import add_dns_parsers

    add_dns_parsers(sub)
    from .state import add_state_parsers

    add_state_parsers(sub)
    from .watch import add_watch_parsers

    add_watch_parsers(sub)

    sub.add_parser("simulate", help="run a simulated pair (see `d42tui simulate --help`)",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "simulate":
            return cmd_simulate(argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            from .console import run_console

            return run_console(args)
        return args.func(args)
    except ConfigError as exc:
        _err(*exc.lines)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback (it could carry request details) by default
        if os.environ.get("D42TUI_DEBUG"):
            raise
        _err(f"d42tui: internal error: {exc.__class__.__name__} (set D42TUI_DEBUG=1 for details)")
        return 70
