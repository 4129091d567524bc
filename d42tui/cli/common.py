"""What the one-shot commands share: one poll decides, and a poll of every pair once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models (pydantic) load when a command reads its config
    from ..config.models import Config


def pick_pair(config: Config, name: str | None = None, appliance: str | None = None):
    """The pair a command acts on: the appliance's, the named one, or the only one."""
    from ..config.errors import ConfigError

    try:
        if appliance is not None:
            return config.pair_of_appliance(appliance)
        if name:
            return config.pair(name)
    except KeyError as exc:
        raise ConfigError([f"no appliance or pair named {exc.args[0]}"]) from None
    if len(config.pairs) == 1:
        return config.pairs[0]
    raise ConfigError([f"the config has {len(config.pairs)} pairs: name one with --pair "
                       f"({', '.join(p.name for p in config.pairs)})"])


def oneshot_config(config: Config) -> Config:
    """One poll decides: the monitoring system (or the operator) supplies the retries."""
    pairs = [p.model_copy(update={"poll": p.poll.model_copy(
        update={"failure_threshold": 1, "recovery_threshold": 1})}) for p in config.pairs]
    return config.model_copy(update={"pairs": pairs})


async def poll_all_once(config: Config):
    from ..config.models import state_dir
    from ..engine.poller import Poller
    from ..engine.state import StateStore

    poller = Poller(config, StateStore(state_dir(config)))
    try:
        checks = [p.monitor.check_now() for p in poller.pairs.values() if p.monitor is not None]
        await asyncio.gather(*(p.poll_fully() for p in poller.pairs.values()), *checks)
        # the snapshot again, now with the backup file looked at
        return {name: p.snapshot() for name, p in poller.pairs.items()}
    finally:
        await poller.aclose()
