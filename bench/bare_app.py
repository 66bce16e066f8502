"""The baseline for bench/portal.py: a bare Starlette app with one route returning a small HTML page.

Served by the same uvicorn flags as the portal (`uvicorn --factory bench.bare_app:create_app`), so the ratio
portal/bare measures what the portal adds: database queries, templates, middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

_PAGE = "<!doctype html><html><head><title>bare</title></head><body><p>Hello, world.</p></body></html>"


async def hello(request: Request) -> HTMLResponse:
    return HTMLResponse(_PAGE)


async def blob(request: Request) -> Response:
    """A body of ?size= bytes: a second baseline that moves as many bytes as the cached PDF does."""
    size = min(int(request.query_params.get("size", "1024")), 10_000_000)
    return Response(b"%" * size, media_type="application/pdf")


_listeners: set[asyncio.Queue[str]] = set()


async def stream(request: Request) -> EventSourceResponse:
    """The SSE baseline for bench/sse_fanout.py: sse-starlette and one in-process queue per listener, no database."""
    queue: asyncio.Queue[str] = asyncio.Queue(16)
    _listeners.add(queue)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            yield ServerSentEvent(event="ready", data="0")
            while True:
                yield ServerSentEvent(event="comment", data=await queue.get())
        finally:
            _listeners.discard(queue)

    return EventSourceResponse(events(), ping=15, send_timeout=10)


async def fire(request: Request) -> Response:
    """Ring every listener with ?id= (what a NOTIFY does in the portal)."""
    for queue in list(_listeners):
        if not queue.full():
            queue.put_nowait(request.query_params.get("id", "0"))
    return Response(str(len(_listeners)))


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", hello),
            Route("/blob", blob),
            Route("/stream", stream),
            Route("/fire", fire, methods=["POST"]),
        ]
    )
