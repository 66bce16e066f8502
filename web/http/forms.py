"""Reading a posted body with a size limit and a deadline, whatever its framing: a declared Content-Length over the
limit is refused unread, and a chunked (or lying) body is counted as it arrives and refused at the first byte over
the limit, so no request can make us hold more than our own forms can produce."""

from __future__ import annotations

import asyncio

from starlette.datastructures import FormData, Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.http.errors import RefusedRequest
from web.i18n.catalogs import ENGLISH
from web.i18n.message import msg
from web.state import AppRequest

# No form of ours may be larger (the draft builder, a logo upload): the app refuses any bigger body outright.
LARGEST_BODY = 1024 * 1024
TOO_LARGE = msg("What you sent is larger than this form accepts. Shorten it and try again.")
TOO_SLOW = msg("What you sent arrived too slowly. Please try again.")


def declared_length(header: str) -> int | None:
    """A Content-Length's value, or None when it is not a plain number (int() would also take " 7" or "١٢")."""
    return int(header) if header.isascii() and header.isdigit() else None


class DeclaredBodyLimit:
    """Refuses, unread, a request that declares a body over LARGEST_BODY, whatever the route. A chunked body
    declares nothing: it is bounded where it is read (read_body), and a route that never reads its body never
    holds it. (Starlette's own max_body_size raises inside event streams' task groups: a 500 instead of a 413.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = declared_length(Headers(scope=scope).get("content-length", ""))
            if length is not None and length > LARGEST_BODY:
                # Refused before routing, so before anything knows the reader: plain English.
                await PlainTextResponse(ENGLISH.say(TOO_LARGE), status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def read_body(request: AppRequest, max_bytes: int) -> bytes:
    """The raw body, at most `max_bytes` of it, within the body timeout (settings); else a 413, 408 or 400."""
    header = request.headers.get("content-length")
    if header is not None:
        length = declared_length(header)
        if length is None:
            raise RefusedRequest(400, msg("The request's Content-Length is not a number."))
        if length > max_bytes:
            raise RefusedRequest(413, TOO_LARGE)
    if max_bytes > LARGEST_BODY:
        raise ValueError(f"{max_bytes} is above LARGEST_BODY, which the app enforces on every body")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(request.state["settings"].body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise RefusedRequest(413, TOO_LARGE)
                chunks.append(chunk)
    except TimeoutError:
        raise RefusedRequest(408, TOO_SLOW) from None
    return b"".join(chunks)


async def read_form(request: AppRequest, max_bytes: int) -> dict[str, str]:
    """The posted text fields."""
    return text_fields(await read_form_data(request, max_bytes))


async def read_form_data(request: AppRequest, max_bytes: int, **limits: int) -> FormData:
    """The whole posted form, files included; `limits` are passed to Starlette's parser (max_files, ...).
    The body is read under the limit first, then parsed from memory (a form is at most `max_bytes`)."""
    body = await read_body(request, max_bytes)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:  # the parser reads once; a later receive would mean the client went away
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return await Request(request.scope, replay).form(**limits)


def text_fields(form: FormData) -> dict[str, str]:
    """The text fields of a read form (files left out), NUL dropped."""
    return {key: without_nul(value) for key, value in form.items() if isinstance(value, str)}


def text_values(form: FormData, name: str) -> list[str]:
    """Every text value posted under `name`, in order (files left out), NUL dropped."""
    return [without_nul(value) for value in form.getlist(name) if isinstance(value, str)]


def without_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL: dropped on the way in, so no field can turn it into a server error."""
    return text.replace("\x00", "")


def client_address(request: AppRequest) -> str:
    """The peer address rate limits count by (behind a proxy, uvicorn's --forwarded-allow-ips sets it)."""
    return request.client.host if request.client else "unknown"
