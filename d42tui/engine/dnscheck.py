"""Where the pair's service name points, judged against the pair's production: the one
judgement the board, `status`, `check` and the watcher's view share."""

from __future__ import annotations

from collections.abc import Mapping

from ..config.models import Config, PairConfig
from ..dns.lookup import DnsAnswer, DnsProblem, dns_mismatch
from .pair import PairSnapshot, effective_production


def dns_problems(config: Config, snaps: dict[str, PairSnapshot],
                 answers: Mapping[str, DnsAnswer]) -> dict[str, DnsProblem]:
    """pair -> what is wrong with its service name (the board's DNS warning), if anything."""
    out = {}
    for pair in config.pairs:
        problem = pair_dns_problem(pair, snaps.get(pair.name), answers.get(pair.name))
        if problem:
            out[pair.name] = problem
    return out


def pair_dns_problem(pair: PairConfig, snap: PairSnapshot | None,
                     answer: DnsAnswer | None) -> DnsProblem | None:
    """What is wrong with the pair's service name, once both a poll and an answer are in."""
    if pair.dns is None or snap is None or answer is None:
        return None
    production = effective_production(snap.desired_production, snap.modes)
    return dns_mismatch(pair.dns, answer, production)
