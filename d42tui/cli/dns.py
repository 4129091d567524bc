"""`d42tui dns show` and `d42tui dns set`: the pair's service name, read and switched.

`dns set` is a guarded action like promote: plan, typed confirmation (the name),
`--yes` skips only the prompt, audit before and after, exit codes 0/1/2/3/4.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from ..config.errors import ConfigError

if TYPE_CHECKING:  # the config models load when a command runs, not to build `--help`
    from ..config.models import PairConfig


def _ttl_argument(text: str) -> int:
    """Checked as it is parsed: a bad --ttl must not cost a poll of the pair first."""
    from ..dns.config import MAX_TTL
    from ..text import quoted

    if not (text.strip().isdigit() and len(text) < 8) or not 1 <= int(text) <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a TTL: a whole number of "
                                         f"seconds from 1 to {MAX_TTL}")
    return int(text)


def add_dns_parsers(sub) -> None:
    p = sub.add_parser("dns", help="the pair's DNS name: show it, or switch it")
    dsub = p.add_subparsers(dest="dns_command", required=True)
    show = dsub.add_parser("show", help="what the authoritative servers answer now")
    show.add_argument("--config", default=argparse.SUPPRESS)
    show.add_argument("--pair", action="append")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_dns_show)
    put = dsub.add_parser("set", help="point the name at an appliance (or an address)")
    put.add_argument("--config", default=argparse.SUPPRESS)
    put.add_argument("--pair", help="the pair (needed when the config has several)")
    put.add_argument("--to", required=True, help="an appliance name or an address/target")
    put.add_argument("--ttl", type=_ttl_argument,
                     help="TTL for this switch (default: the pair's dns.ttl)")
    put.add_argument("--yes", action="store_true", help="skip the typed confirmation (not the checks)")
    put.add_argument("--dry-run", action="store_true")
    put.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)
    put.set_defaults(func=cmd_dns_set)


def _dns_pairs(config, names) -> list[PairConfig]:
    pairs = [p for p in config.pairs if not names or p.name in names]
    if names and len(pairs) != len(set(names)):
        raise ConfigError([f"no pair named {', '.join(set(names) - {p.name for p in pairs})}"])
    with_dns = [p for p in pairs if p.dns is not None]
    if not with_dns:
        raise ConfigError(["no pair has a dns: section (see sample_config.yaml)"])
    return with_dns


def cmd_dns_show(args: argparse.Namespace) -> int:
    from ..config.models import load_config, state_dir
    from ..dns import dns_mismatch, dns_summary, query, which_appliance
    from ..engine.pair import effective_production
    from ..engine.state import StateStore

    config = load_config(args.config).config
    pairs = _dns_pairs(config, args.pair)
    store = StateStore(state_dir(config))
    answers = asyncio.run(_query_all(pairs, query))
    out = []
    worst = 0
    for pair, answer in zip(pairs, answers, strict=True):
        desired, modes = store.roles(pair)
        production = effective_production(desired, modes)
        mismatch = dns_mismatch(pair.dns, answer, production)
        worst = max(worst, 1 if mismatch else 0)
        out.append({"pair": pair.name, "name": pair.dns.name, "type": pair.dns.type,
                    "values": list(answer.values), "ttl": answer.ttl,
                    "appliance": which_appliance(pair.dns, answer.values),
                    "asserted_production": production,
                    "mismatch": str(mismatch) if mismatch else None,
                    "error": answer.error, "summary": dns_summary(pair.dns, answer)})
    if args.json:
        print(json.dumps({"schema_version": 1, "dns": out}, indent=2))
    else:
        for row in out:
            print(f"{row['pair']}: {row['summary']}")
            if row["mismatch"]:
                print(f"  ! {row['mismatch']}")
    return worst


async def _query_all(pairs, query):
    return await asyncio.gather(*(query(p.dns) for p in pairs))


def cmd_dns_set(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from .common import oneshot_config

    config = load_config(args.config).config
    if args.pair:
        try:
            pair = config.pair(args.pair)
        except KeyError:
            raise ConfigError([f"no pair named {args.pair}"]) from None
    elif len(config.pairs) == 1:
        pair = config.pairs[0]
    else:
        raise ConfigError([f"the config has {len(config.pairs)} pairs: name one with --pair"])
    if pair.dns is None:
        raise ConfigError([f"pair {pair.name} has no dns: section (see sample_config.yaml)"])
    config = oneshot_config(config.model_copy(update={"pairs": [pair]}))
    return asyncio.run(_set(args, config))


async def _set(args: argparse.Namespace, config) -> int:
    from ..actions.planner import ActionKind, plan_dns
    from ..dns import dns_summary, query
    from .actions import run_guarded

    pair = config.pairs[0]

    async def make_plan(pair_poller):
        snap, answer = await asyncio.gather(pair_poller.poll_fully(), query(pair.dns))
        try:
            return plan_dns(pair, snap, args.to, answer.values, dns_summary(pair.dns, answer),
                            ttl=args.ttl)
        except ValueError as exc:
            print(f"d42tui dns set: {exc}", file=sys.stderr)
            return 2

    return await run_guarded(args, config, ActionKind.DNS_SET, pair.dns.name, make_plan)
