"""The origins allowed to frame a workspace's embed (its CSP frame-ancestors and the only targets of its
postMessage events): https origins, or http on this machine for development."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_ORIGINS = 10
_LOCAL = ("localhost", "127.0.0.1")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


class OriginRefused(ValueError):
    """str() says which line is wrong and why (the console's settings form)."""


def parse_origins(text: str) -> list[str]:
    """One origin a line (blank lines ignored), normalised to scheme://host[:port]."""
    found: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        origin = parse_origin(line)
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise OriginRefused(f"At most {MAX_ORIGINS} origins.")
    return found


def parse_origin(text: str) -> str:
    """scheme://host[:port] exactly as a browser writes it in `event.origin` and CSP expects it: lower case, ASCII
    (an internationalised name in its xn-- form), no default port."""
    if len(text) > 200:
        raise OriginRefused(f"{text[:40]}…: an origin is at most 200 characters.")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise OriginRefused(f"{text}: write an origin like https://app.example.com.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OriginRefused(f"{text}: an origin has no path, query or fragment (https://app.example.com).")
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
        port = parts.port
    except (UnicodeError, ValueError):
        raise OriginRefused(f"{text}: not a host name and port.") from None
    if not host or not set(host) <= _HOST_CHARACTERS or host.startswith(("-", ".")):
        raise OriginRefused(f"{text}: not a host name (IP addresses other than 127.0.0.1 are not accepted).")
    if parts.scheme == "http" and host not in _LOCAL:
        raise OriginRefused(f"{text}: use https (http only for localhost during development).")
    shown_port = "" if port is None or port == _DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"
