"""One error renderer: a page for people, JSON for /healthz-style callers, never a traceback."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)

# The database or network being down is not a bug: tell the reader to retry instead of showing a 500.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)

_MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is too large."),
    503: ("Temporarily unavailable", "We could not reach our database. Please try again in a minute."),
    500: ("Something went wrong", "Something went wrong on our side. Please try again; nothing you sent was lost."),
}


def exception_handlers() -> dict[type[Exception] | int, object]:
    """Outages are handled inside the app (ExceptionMiddleware), so they are not re-raised as crashes;
    anything else reaches ServerErrorMiddleware, which renders our 500 page and logs the traceback."""
    handlers: dict[type[Exception] | int, object] = {HTTPException: http_error}
    handlers.update({error: service_unavailable for error in UNAVAILABLE_ERRORS})  # type: ignore[misc]
    handlers[Exception] = server_error
    return handlers


def _render(request: Request, status_code: int, template: str = "errors/error.html", detail: str = "") -> Response:
    title, message = _MESSAGES.get(status_code, _MESSAGES[500])
    message = detail or message
    templates = getattr(request.state, "templates", None)
    headers = {"Retry-After": "30"} if status_code == 503 else None
    if templates is None:
        # Lifespan never ran (or failed): still answer without a traceback.
        return PlainTextResponse(f"{title}. {message}", status_code=status_code, headers=headers)
    context = {"title": title, "message": message, "status_code": status_code}
    return templates.TemplateResponse(request, template, context, status_code=status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/i/"):
        return _render(request, 404, "errors/invoice_not_found.html")
    # A detail we wrote ourselves is a readable sentence for the reader; Starlette's default is the bare phrase.
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else ""
    return _render(request, exc.status_code, detail=detail)


async def service_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("service unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _render(request, 503)


async def server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return await service_unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _render(request, 500)
