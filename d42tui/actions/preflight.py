"""Before the first byte: everything a plan will need, checked while nothing is sent yet.

A failover that demotes the old primary and then finds it cannot read the standby's
password leaves the pair with no production. So every secret the plan uses, the state dir
and the audit log it writes, and the DNS backend are tried first; any failure refuses the
action and names what to fix.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from ..config.models import PairConfig
from ..engine.secretread import appliance_secret_problems, secret_text
from ..engine.state import StateStore


def dns_problems(pair: PairConfig) -> list[str]:
    """What the DNS step needs: a dns: section, a TSIG secret it can read, a command that
    exists."""
    dns = pair.dns
    if dns is None:
        return [f"pair {pair.name} has no dns: section"]
    backend = dns.backend
    if backend.kind == "rfc2136":
        secret = backend.tsig_secret()
        if secret is not None and (text := secret_text("DNS", secret, "TSIG secret")):
            return [text]
        return []
    program = backend.argv[0]
    found = shutil.which(program) if os.sep not in program else (
        program if os.access(program, os.X_OK) else None)
    return [] if found else [f"DNS: the command {program} is not found or not executable"]


def writable_problems(store: StateStore, audit_path: Path) -> list[str]:
    """The state dir (its file is replaced by rename) and the audit log must take a write."""
    out = []
    if (damage := store.damage()) is not None:
        out.append(str(damage))
    directory = store.directory
    if directory.exists() and not directory.is_dir():
        out.append(f"the state dir {directory} is not a directory")
    elif directory.exists() and not os.access(directory, os.W_OK | os.X_OK):
        out.append(f"the state dir {directory} is not writable")
    if store.path.is_dir():
        out.append(f"the state file {store.path} is a directory")
    if audit_path.is_dir():
        out.append(f"the audit log {audit_path} is a directory")
    elif audit_path.exists() and not os.access(audit_path, os.W_OK):
        out.append(f"the audit log {audit_path} is not writable")
    elif not audit_path.exists():
        parent = next((p for p in (audit_path.parent, *audit_path.parent.parents) if p.exists()),
                      None)
        if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            out.append(f"the audit log {audit_path} cannot be created")
    return out


def plan_problems(pair: PairConfig, appliances: Iterable[str], dns: bool, store: StateStore,
                  audit_path: Path, fence: bool = False) -> list[str]:
    """Everything that would stop the plan once started; empty when it may start."""
    out = writable_problems(store, audit_path)
    out += appliance_secret_problems(pair, appliances)
    if dns:
        out += dns_problems(pair)
    if fence and pair.automation.require_fence:
        out += fence_problems(pair)
    return out


def fence_problems(pair: PairConfig) -> list[str]:
    """A required fence command that cannot even be started stops the plan before the demote
    of anything (a best-effort one is tried, and its failure said)."""
    argv = pair.automation.fence_command or []
    program = argv[0] if argv else ""
    found = shutil.which(program) if program and os.sep not in program else (
        program if program and os.access(program, os.X_OK) else None)
    return [] if found else [f"automation.fence_command: {program or '(none)'} is not found or "
                             "not executable, and require_fence is on"]
