"""Can every secret of a config be read? `secret_problems` tries each source, never shows one.

For `config check --secrets`, and for whoever must know before acting (the board, `check`,
an action's preflight): a secret already read is answered from memory, and a failed source
is tried again only after `retry_after` seconds, so it can be called on every poll.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .secrets import SecretFailure
from .types import pick_secret

if TYPE_CHECKING:
    from .models import Config


@dataclass(frozen=True)
class SecretProblem:
    """One secret that cannot be read (or read but unusable), by where the config sets it."""

    key_path: str  # pairs[0].appliances[1].password_command: the key that names the source
    pair: str
    appliance: str | None  # the appliance it belongs to, if any
    kind: SecretFailure | None  # None: read, but not in a usable form (see text)
    text: str  # safe to record: names the source, never the value nor a command's stderr
    hint: str | None = None  # for a terminal only: how to see the reason yourself

    def line(self, config_path: object) -> str:
        return f"{config_path}: {self.key_path}: {self.text}"


@dataclass(frozen=True)
class _Source:
    key: str  # the section's key path
    prefix: str  # password, secret, key_passphrase, url
    model: Any
    appliance: str | None = None
    usable: Callable[[str], str | None] | None = None  # a problem with the value read


def _tsig(value: str) -> str | None:
    try:
        if base64.b64decode(value.strip(), validate=True):
            return None
    except (binascii.Error, ValueError):
        return "is not base64 (copy the secret \"...\" value of the tsig-keygen output)"
    return "is empty"


def _webhook(value: str) -> str | None:
    from ..watch.config import check_webhook_url

    try:
        check_webhook_url(value)
    except ValueError:
        return "is not an http(s) URL"  # never the URL itself: its path may be a token
    return None


def _sources(config: Config) -> Iterator[tuple[str, _Source]]:
    for i, pair in enumerate(config.pairs):
        at = f"pairs[{i}]"
        for j, appliance in enumerate(pair.appliances):
            key = f"{at}.appliances[{j}]"
            yield pair.name, _Source(key, "password", appliance, appliance.name)
            if appliance.api is not None:
                yield pair.name, _Source(f"{key}.api", "password", appliance.api, appliance.name)
        if pair.dns is not None and getattr(pair.dns.backend, "kind", None) == "rfc2136":
            yield pair.name, _Source(f"{at}.dns.backend", "secret", pair.dns.backend,
                                     usable=_tsig)
        if pair.backup is not None and pair.backup.kind == "sftp":
            yield pair.name, _Source(f"{at}.backup", "password", pair.backup)
            yield pair.name, _Source(f"{at}.backup", "key_passphrase", pair.backup)
        # S3 credentials come from the AWS chain (env, profile, role), not from the config.
        notify = pair.automation.notify
        if notify is not None and notify.webhook is not None:
            yield pair.name, _Source(f"{at}.automation.notify.webhook", "url", notify.webhook,
                                     usable=_webhook)
    if config.watch.basic_auth is not None:  # the watcher's endpoints: belongs to no pair
        yield "", _Source("watch.basic_auth", "password", config.watch.basic_auth)
    coordination = getattr(config, "coordination", None)
    if coordination is not None and coordination.etcd.username is not None:
        yield "", _Source("coordination.etcd", "password", coordination.etcd)


def _given_key(model: Any, prefix: str) -> str:
    for key in (f"{prefix}_command", f"{prefix}_file", f"{prefix}_env"):
        if getattr(model, key, None) is not None:
            return key
    return prefix


def secret_problems(config: Config, *, retry_after: float = 0.0) -> list[SecretProblem]:
    """Each secret of `config` that cannot be read or is unusable, in config order.

    Reads every source once (a command runs; its value is then cached for the process); a
    source that failed less than `retry_after` seconds ago is reported from memory."""
    problems: list[SecretProblem] = []
    for pair, source in _sources(config):
        secret = pick_secret(source.model, source.prefix)
        if secret is None:
            continue
        key = f"{source.key}.{_given_key(source.model, source.prefix)}"
        common = {"key_path": key, "pair": pair, "appliance": source.appliance}
        failure = secret.check(retry_after)
        if failure is not None:
            problems.append(SecretProblem(kind=failure.kind, text=failure.text,
                                          hint=failure.hint, **common))
            continue
        value = secret.value()
        if not value.strip():
            problems.append(SecretProblem(kind=SecretFailure.EMPTY,
                                          text=f"{secret.describe()} gave an empty value",
                                          **common))
        elif source.usable is not None and (why := source.usable(value)):
            problems.append(SecretProblem(kind=None, text=f"the value from {secret.describe()} "
                                                          f"{why}", **common))
    return problems


def secret_source_count(config: Config) -> int:
    """How many secret sources `config` names (what `secret_problems` tries)."""
    return sum(pick_secret(s.model, s.prefix) is not None for _pair, s in _sources(config))
