"""Response headers for every response (capability-link hygiene, CSP) and cross-origin refusal of unsafe methods."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def content_security_policy(
    extra_script_src: tuple[str, ...] = (),
    extra_frame_src: tuple[str, ...] = (),
    extra_connect_src: tuple[str, ...] = (),
) -> str:
    """No inline script or style, no eval: htmx is configured for this (see templates/base.html)."""
    script_src = " ".join(("'self'", *extra_script_src))
    frame_src = " ".join(("'self'", *extra_frame_src))
    connect_src = " ".join(("'self'", *extra_connect_src))
    return (
        "default-src 'none'; "
        f"script-src {script_src}; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src {connect_src}; "
        # The PDF preview embeds our own /pdf URL; nothing else may frame us.
        f"object-src 'self'; frame-src {frame_src}; frame-ancestors 'self'; "
        "base-uri 'none'; form-action 'self'"
    )


def with_frame_ancestors(csp: str, origins: list[str]) -> str:
    """The app's CSP, framed only by these origins ('none' when there are none): a page embedded in a workspace's
    own app (web/views/embed.py). The response carries it, and the middleware then adds no CSP of its own."""
    ancestors = " ".join(origins) if origins else "'none'"
    return csp.replace("frame-ancestors 'self'", f"frame-ancestors {ancestors}")


def stripe_sources(stripe_js_url: str, stripe_api_base: str) -> dict[str, tuple[str, ...]]:
    """What Stripe.js needs (Stripe's CSP guide): its script origin, its frames (3-D Secure pages on
    hooks.stripe.com) and the API it calls. A local test double serves all three from one origin."""
    js = _origin(stripe_js_url)
    if stripe_api_base:
        api = _origin(stripe_api_base)
        return {
            "extra_script_src": (js,),
            "extra_frame_src": (js,),
            "extra_connect_src": tuple(dict.fromkeys((js, api))),
        }
    return {
        "extra_script_src": (js,),
        "extra_frame_src": (js, "https://hooks.stripe.com"),
        "extra_connect_src": ("https://api.stripe.com",),
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeadersMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so streaming responses and throughput are untouched. It must be the
    outermost layer (web/app.py wraps the whole stack): Starlette's ServerErrorMiddleware sits outside every user
    middleware, so a 500 page rendered there would otherwise leave without these headers."""

    def __init__(self, app: ASGIApp, *, csp: str, immutable_prefixes: tuple[str, ...]) -> None:
        """`immutable_prefixes`: paths whose bytes never change (content-hashed assets), cached for good."""
        self.app = app
        self.csp = csp
        self.immutable_prefixes = immutable_prefixes
        # Raw header pairs built once: appending them is the cheapest thing on the hot path.
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        self._static_headers = [*common, (b"cache-control", b"public, max-age=31536000, immutable")]
        self._page_headers_own_csp = [*common, (b"cache-control", b"no-store"), (b"x-robots-tag", b"noindex, nofollow")]
        self._page_headers = [*self._page_headers_own_csp, (b"content-security-policy", csp.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS and _is_cross_site(scope):
            response = PlainTextResponse("Cross-site requests are not accepted.", status_code=403)
            await response(scope, receive, self._with_headers(scope, send))
            return
        started = False
        send_with_headers = self._with_headers(scope, send)

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # ServerErrorMiddleware re-raises after our 500 page went out (and after our handler logged it), so
            # the server would log it twice and drop a connection that has a complete answer: the answer stands.
            if started:
                return
            # Only the error page itself failing gets here: a bare 500, with the headers, logged once.
            log.exception("the error page failed on %s %s", scope["method"], scope["path"])
            fallback = PlainTextResponse("Something went wrong on our side. Please try again.", status_code=500)
            await fallback(scope, receive, send_with_headers)

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        # Asset URLs carry a content hash (static_url, a logo's sha), so they can be cached for good; nothing else
        # may be. Their errors neither: a 404 or 503 cached forever would outlive the cause.
        immutable = scope["path"].startswith(self.immutable_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if immutable and message["status"] < 400:
                    extra = self._static_headers
                elif any(name == b"content-security-policy" for name, _ in headers):
                    extra = self._page_headers_own_csp  # an embedded page's CSP (with_frame_ancestors) stands
                else:
                    extra = self._page_headers
                # Our handlers never set the others themselves, so appending cannot duplicate them.
                message["headers"] = [*headers, *extra]
            await send(message)

        return send_with_headers


def _is_cross_site(scope: Scope) -> bool:
    """Browsers label every cross-site request (Sec-Fetch-Site, Origin); requests without either are not
    from a browser and carry no ambient credentials worth forging, so they pass (webhooks, curl)."""
    headers = Headers(scope=scope)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    host = headers.get("host", "")
    return origin.split("://", 1)[-1] != host
