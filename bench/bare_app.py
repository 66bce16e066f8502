"""The baseline for bench/portal.py: a bare Starlette app with one route returning a small HTML page.

Served by the same uvicorn flags as the portal (`uvicorn --factory bench.bare_app:create_app`), so the ratio
portal/bare measures what the portal adds: database queries, templates, middleware.
"""

from __future__ import annotations

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


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", hello), Route("/blob", blob)])
