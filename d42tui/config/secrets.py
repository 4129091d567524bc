"""Secret sources: a value from the environment, a file or a command, never echoed.

A `Secret` resolves lazily, caches the value, and has a `repr` that never shows it.
Every module that handles a credential (appliance passwords, TSIG keys, SFTP
passwords) goes through here, so there is one place to audit for leaks.

A failing source raises `SecretError`, whose message may be recorded anywhere (audit log,
JSON, logs): it names the source and what went wrong, never the value and never what a
command wrote on stderr (a wrapper may echo what it was given). `hint` tells a person at a
terminal how to see the reason themselves.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import ClassVar

from ..text import clean_text

COMMAND_TIMEOUT = 30.0


class SecretFailure(Enum):
    ENV_NOT_SET = "env-not-set"
    FILE_UNREADABLE = "file-unreadable"
    COMMAND_NOT_RUN = "command-not-run"  # not found, not executable
    COMMAND_TIMEOUT = "command-timeout"
    COMMAND_FAILED = "command-failed"  # a non-zero exit status
    EMPTY = "empty"  # read, but nothing there


class SecretError(Exception):
    """A secret could not be read. The message names the source, never the value, and never
    the command's stderr."""

    def __init__(self, kind: SecretFailure, text: str, *, hint: str | None = None,
                 exit_code: int | None = None):
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.hint = hint  # for a terminal only: how to see why (the argv is config, not secret)
        self.exit_code = exit_code


@dataclass(eq=False)
class Secret:
    """Where a secret comes from; `value()` reads it on first use."""

    kind: str  # "literal" | "env" | "file" | "command"
    ref: str | tuple[str, ...]  # env var name, file path, argv; "" for literal
    _literal: str | None = field(default=None, repr=False)
    _cached: str | None = field(default=None, repr=False)
    failure: SecretError | None = field(default=None, repr=False)  # the last read's, if it failed
    failed_at: float | None = field(default=None, repr=False)  # time.monotonic() of that read
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # One object per argv in the process: the config hands out a new `Secret` per call, and a
    # command (`vault`, `pass`) is slow, may prompt and may be rate-limited, so it runs once
    # until it succeeds and then never again.
    _commands: ClassVar[dict[tuple[str, ...], Secret]] = {}

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
        key = tuple(argv)
        shared = cls._commands.get(key)
        if shared is None:
            shared = cls._commands.setdefault(key, cls("command", key))
        return shared

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.kind == "literal":
            return "inline value in the config file"
        if self.kind == "env":
            return f"environment variable {clean_text(str(self.ref), 80, one_line=True)}"
        if self.kind == "file":
            return f"file {clean_text(str(self.ref), 200, one_line=True)}"
        return f"command {self._program()}"

    def value(self) -> str:
        """The secret; SecretError when its source fails (tried again at each call)."""
        if self._cached is not None:
            return self._cached
        with self._lock:  # two threads asking at once run a command once
            if self._cached is None:
                try:
                    self._cached = self._read()
                except SecretError as exc:
                    self.failure, self.failed_at = exc, time.monotonic()
                    raise
                self.failure = self.failed_at = None
            return self._cached

    def check(self, retry_after: float = 0.0) -> SecretError | None:
        """None when the secret can be read, else why not. A source that failed less than
        `retry_after` seconds ago is not tried again: its failure is answered from memory."""
        if self._cached is not None:
            return None
        if (self.failure is not None and self.failed_at is not None
                and time.monotonic() - self.failed_at < retry_after):
            return self.failure
        try:
            self.value()
        except SecretError as exc:
            return exc
        return None

    def _program(self) -> str:
        return clean_text(self.ref[0] if self.ref else "?", 80, one_line=True)

    def _read(self) -> str:
        if self.kind == "literal":
            return self._literal or ""
        if self.kind == "env":
            val = os.environ.get(str(self.ref))
            if val is None:
                raise SecretError(SecretFailure.ENV_NOT_SET, f"{self.describe()} is not set")
            return val
        if self.kind == "file":
            try:
                return Path(str(self.ref)).expanduser().read_text().rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                why = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise SecretError(SecretFailure.FILE_UNREADABLE,
                                  f"cannot read secret {self.describe()}: {why}") from None
        return self._run()

    def _run(self) -> str:
        argv = list(self.ref)
        name = f"secret command {self._program()}"
        hint = ("run it yourself to see why: "
                + clean_text(shlex.join(argv), 300, one_line=True, placeholder="?"))
        try:
            # stdout is the secret; stderr is dropped unread: it may repeat the secret
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise SecretError(SecretFailure.COMMAND_TIMEOUT, f"{name} did not finish within "
                              f"{COMMAND_TIMEOUT:g}s", hint=hint) from None
        except OSError as exc:
            why = {FileNotFoundError: "not found", PermissionError: "not executable"}.get(
                type(exc), exc.strerror or exc.__class__.__name__)
            raise SecretError(SecretFailure.COMMAND_NOT_RUN, f"{name} could not run: {why}",
                              hint=hint) from None
        if proc.returncode != 0:
            status = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
                      else f"exited {proc.returncode}")
            raise SecretError(SecretFailure.COMMAND_FAILED, f"{name} {status}", hint=hint,
                              exit_code=proc.returncode)
        try:
            return proc.stdout.decode().rstrip("\r\n")
        except UnicodeDecodeError:
            raise SecretError(SecretFailure.COMMAND_FAILED, f"{name} printed something that is "
                              "not UTF-8 text", hint=hint) from None

    def __repr__(self) -> str:  # never the value, even in a traceback's locals
        return f"Secret({self.describe()})"

    __str__ = __repr__


def literal_file_is_exposed(path: Path) -> bool:
    """True when a file holding secrets can be read by group or others."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False
