"""One appliance's Appliance Manager, as the console sees it: `ApplianceClient` polls its
health and sets its mode; every way of failing is a `Failure` with a `FailureKind`."""

from .client import ApplianceClient, ModeChangeResult, PollResult
from .failures import Failure, FailureKind
from .health import Health

__all__ = ["ApplianceClient", "ModeChangeResult", "PollResult", "Failure", "FailureKind",
           "Health"]
