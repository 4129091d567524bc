"""The state dir on disk: created private wherever it is created, and checked before use.

`make_private_dir` is how every writer creates it (0700 for each level it makes, so a lock
made first does not leave it 0755); `storage_problems` is what `config check` says about a
`state_dir:` or `audit_log:` that names a file or a place that cannot be written.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..text import clean_text


def make_private_dir(path: Path) -> None:
    """`mkdir -p` with every directory it creates 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            directory.mkdir(mode=0o700)


def _shown(path: Path) -> str:
    return clean_text(str(path), 200, one_line=True, placeholder="?")


def _writable_dir(path: Path) -> str | None:
    """Why files cannot be made in the existing directory `path`, or None. Tries it: as root
    `os.access` says yes to a read-only or pseudo file system."""
    import tempfile  # only `config check` asks: kept off the start-up path of the lock

    try:
        fd, name = tempfile.mkstemp(dir=path, prefix=".d42tui-check-")
    except OSError as exc:
        return f"cannot write in {_shown(path)}: {exc.strerror or exc.__class__.__name__}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def dir_problem(path: Path) -> str | None:
    """Why `path` cannot serve as a directory d42tui creates and writes, or None."""
    if path.exists():
        if not path.is_dir():
            return f"{_shown(path)} is a file, not a directory"
        return _writable_dir(path)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot create {_shown(path)}: {_shown(ancestor)} is a file, not a directory"
    problem = _writable_dir(ancestor)
    return None if problem is None else f"cannot create {_shown(path)}: {problem}"


def file_problem(path: Path) -> str | None:
    """Why d42tui could not append to the file `path` (creating it and its directory)."""
    if path.is_dir():
        return f"{_shown(path)} is a directory, not a file"
    if path.exists():
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            return f"cannot append to {_shown(path)}: {exc.strerror or exc.__class__.__name__}"
        return None
    return dir_problem(path.parent)


def storage_problems(config: object, config_path: Path) -> list[str]:
    """One line per place the config (or $D42TUI_STATE_DIR) names that cannot be written:
    the state dir in force, a `state_dir:` key, an `audit_log:` key."""
    from .models import state_dir

    out: list[str] = []
    configured = getattr(config, "state_dir", None)
    if env := os.environ.get("D42TUI_STATE_DIR"):
        if problem := dir_problem(Path(env).expanduser()):
            out.append(f"$D42TUI_STATE_DIR: {problem}")
    elif configured is None and (problem := dir_problem(state_dir(None))):
        out.append(f"the default state dir: {problem} (set state_dir: in {config_path})")
    if configured is not None and (problem := dir_problem(configured.expanduser())):
        out.append(f"{config_path}: state_dir: {problem}")
    audit_log = getattr(config, "audit_log", None)
    if audit_log is not None and (problem := file_problem(audit_log.expanduser())):
        out.append(f"{config_path}: audit_log: {problem}")
    return out
