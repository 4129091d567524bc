"""http(s) URLs as the config and the command line take them, with errors in our words.

`urlsplit` raises on a half-written IPv6 address and `.port` on a bad port; both reach
here and nowhere else, so no caller ends in an internal error.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from ..text import quoted

DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpUrl(NamedTuple):
    scheme: str
    host: str  # lower-case; an IPv6 address without its brackets
    port: int  # the scheme's default when the URL has none
    parts: SplitResult

    @property
    def origin(self) -> tuple[str, str, int]:
        """What names one server: two URLs with the same origin reach the same appliance."""
        return self.scheme, self.host, self.port


def split_http_url(text: str, *, schemes: tuple[str, ...] = ("http", "https"),
                   example: str = "https://d42-a.example.com:4343",
                   show: bool = True) -> HttpUrl:
    """Parse `text`; ValueError naming what is wrong. `show=False` never repeats the URL
    (a webhook URL's path may be its token)."""
    shown = f"{quoted(text)} " if show else "the URL "
    kind = "http(s)" if set(schemes) == {"http", "https"} else " or ".join(schemes)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected an {kind} URL such as {example}")
    try:
        parts = urlsplit(text.strip())
    except ValueError:  # "Invalid IPv6 URL": a bracket opened and not closed, or the reverse
        raise ValueError(f"{shown}is not a URL: an IPv6 address is written in brackets, "
                         f"as in https://[2001:db8::1]:4343") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{shown}is not an {kind} URL such as {example}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{shown}has an invalid port (1 to 65535)")
    return HttpUrl(parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme],
                   parts)
