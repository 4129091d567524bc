"""httpx, imported without its command-line tool.

`import httpx` also imports `httpx._main` (the `httpx` CLI) whenever click is installed:
click, pygments' lexers and rich's progress and syntax modules, 15-40 ms on every d42tui
start for a tool d42tui never runs. Marking that one submodule absent makes httpx take
its own fallback for a missing CLI (`httpx.main()` then says its dependencies are
missing); the client API is untouched. Every d42tui module imports httpx from here.
"""

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

import httpx  # noqa: E402

__all__ = ["httpx"]
