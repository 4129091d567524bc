"""Secret sources: a value from the environment, a file or a command, never echoed.

A `Secret` resolves lazily, caches the value, and has a `repr` that never shows it.
Every module that handles a credential (appliance passwords, TSIG keys, SFTP
passwords) goes through here, so there is one place to audit for leaks.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


class SecretError(Exception):
    """A secret could not be read. The message names the source, never the value."""


@dataclass(eq=False)
class Secret:
    """Where a secret comes from; `value()` reads it on first use."""

    kind: str  # "literal" | "env" | "file" | "command"
    ref: str | tuple[str, ...]  # env var name, file path, argv; "" for literal
    _literal: str | None = field(default=None, repr=False)
    _cached: str | None = field(default=None, repr=False)

    @classmethod
    def literal(cls, value: str) -> Secret:
        return cls("literal", "", _literal=value)

    @classmethod
    def env(cls, name: str) -> Secret:
        return cls("env", name)

    @classmethod
    def file(cls, path: str | Path) -> Secret:
        return cls("file", str(path))

    @classmethod
    def command(cls, argv: list[str] | tuple[str, ...]) -> Secret:
        return cls("command", tuple(argv))

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.kind == "literal":
            return "inline value in the config file"
        if self.kind == "env":
            return f"environment variable {self.ref}"
        if self.kind == "file":
            return f"file {self.ref}"
        return f"command {self.ref[0] if self.ref else '?'}"

    def value(self) -> str:
        if self._cached is None:
            self._cached = self._read()
        return self._cached

    def _read(self) -> str:
        if self.kind == "literal":
            return self._literal or ""
        if self.kind == "env":
            val = os.environ.get(str(self.ref))
            if val is None:
                raise SecretError(f"environment variable {self.ref} is not set")
            return val
        if self.kind == "file":
            try:
                return Path(str(self.ref)).expanduser().read_text().rstrip("\r\n")
            except OSError as exc:
                raise SecretError(f"cannot read secret file {self.ref}: {exc.strerror}") from None
        argv = list(self.ref)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretError(f"secret command {argv[0]} could not run: {exc.__class__.__name__}") from None
        if proc.returncode != 0:
            # stderr may be helpful ("vault: not logged in") and does not carry the secret
            err = proc.stderr.strip().splitlines()[-1:] or [""]
            raise SecretError(f"secret command {argv[0]} exited {proc.returncode}: {err[0][:200]}")
        return proc.stdout.rstrip("\r\n")

    def __repr__(self) -> str:  # never the value, even in a traceback's locals
        return f"Secret({self.describe()})"

    __str__ = __repr__


def literal_file_is_exposed(path: Path) -> bool:
    """True when a file holding secrets can be read by group or others."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False
