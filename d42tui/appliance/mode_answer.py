"""How the 200 answer to a mode POST is read: does its message say the mode we asked for?

The documented wording is "Appliance Manager standby mode set to True. Background jobs
disabled"; production's is assumed to be the same with False and enabled. A 200 is not
"done" whatever it says: an error, or the other mode's wording, means the mode was not set.
"""

from __future__ import annotations

import enum
import re


class ModeAnswer(str, enum.Enum):
    CONFIRMS = "confirms"  # the documented wording, for the mode asked for
    CONTRADICTS = "contradicts"  # it says the other mode
    ERROR = "error"  # it says something went wrong
    UNRECOGNISED = "unrecognised"  # neither: not the vendor's words (a new version?)


_FLAG = re.compile(r"\bstandby mode set to (true|false)\b", re.IGNORECASE)
_JOBS = re.compile(r"\bbackground jobs (disabled|enabled)\b", re.IGNORECASE)
_MODE_WORD = re.compile(r"\b(production|standby)\b", re.IGNORECASE)
_ERROR = re.compile(r"\b(errors?|fail(ed|s|ure)?|could(n't| not)|can(not|'t| not)|unable|denied|"
                    r"not (allowed|permitted|set|changed|applied)|invalid|exception)\b",
                    re.IGNORECASE)

_STANDBY_WORDS = {"true": "standby", "false": "production",
                  "disabled": "standby", "enabled": "production"}


def other_mode(mode: str) -> str:
    return "production" if mode == "standby" else "standby"


def read_mode_answer(asked: str, message: str) -> ModeAnswer:
    """What a 200's message says about the mode `asked` for. An error anywhere in it wins:
    a message that reports the mode set and an error besides is not a confirmation."""
    if _ERROR.search(message):
        return ModeAnswer.ERROR
    flag = {_STANDBY_WORDS[m.lower()] for m in _FLAG.findall(message)}
    said = flag | {_STANDBY_WORDS[m.lower()] for m in _JOBS.findall(message)}
    if not said:  # not the documented phrases: only a plain naming of the other mode counts
        named = {m.lower() for m in _MODE_WORD.findall(message)}
        return ModeAnswer.CONTRADICTS if named == {other_mode(asked)} else ModeAnswer.UNRECOGNISED
    if other_mode(asked) in said:
        return ModeAnswer.CONTRADICTS
    return ModeAnswer.CONFIRMS if asked in flag else ModeAnswer.UNRECOGNISED
