"""The origins allowed to frame a workspace's embed (its CSP frame-ancestors and the only targets of its
postMessage events): https origins, or http on this machine for development."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_ORIGINS = 10
_LOCAL = ("localhost", "127.0.0.1", "[::1]")


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
    if len(text) > 200:
        raise OriginRefused(f"{text[:40]}…: an origin is at most 200 characters.")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise OriginRefused(f"{text}: write an origin like https://app.example.com.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OriginRefused(f"{text}: an origin has no path, query or fragment (https://app.example.com).")
    if parts.scheme == "http" and not any(parts.netloc.lower().startswith(local) for local in _LOCAL):
        raise OriginRefused(f"{text}: use https (http only for localhost during development).")
    try:
        port = parts.port
    except ValueError:
        raise OriginRefused(f"{text}: the port is not a number.") from None
    if any(ch in host for ch in " ;,'\"*"):
        raise OriginRefused(f"{text}: not a host name.")
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
