"""One error renderer: a page for people (plain text if the lifespan never ran), never a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.templating import Jinja2Templates

from web.http.locale import reader_texts
from web.i18n.catalogs import ENGLISH
from web.i18n.message import Message, Refusal, msg
from web.pdf import PdfUnavailable
from web.state import AppRequest

log = logging.getLogger(__name__)

ExceptionHandler = Callable[[AppRequest, Exception], Awaitable[Response]]

# The database or network being down is not a bug: tell the reader to retry instead of showing a 500.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)
# Any database failure a read-only endpoint reports rather than raises (health checks, event streams).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)

_MESSAGES = {
    400: (msg("Bad request"), msg("The request could not be understood.")),
    408: (msg("Too slow"), msg("What you sent arrived too slowly. Please try again.")),
    403: (msg("Not allowed"), msg("You are not allowed to do that.")),
    404: (msg("Not found"), msg("There is nothing at this address.")),
    405: (msg("Not allowed"), msg("This address does not accept that kind of request.")),
    413: (msg("Too large"), msg("What you sent is too large.")),
    503: (msg("Temporarily unavailable"), msg("We could not reach our database. Please try again in a minute.")),
    500: (
        msg("Something went wrong"),
        msg("Something went wrong on our side. Please try again; nothing you sent was lost."),
    ),
}


class RefusedRequest(HTTPException):
    """An HTTP error whose explanation is a Message, shown in the reader's language."""

    def __init__(self, status_code: int, message: Message) -> None:
        super().__init__(status_code, ENGLISH.say(message))
        self.message = message


def exception_handlers(portal_prefix: str) -> dict[Any, ExceptionHandler]:
    """Outages are handled inside the app (ExceptionMiddleware), so they are not re-raised as crashes;
    anything else reaches ServerErrorMiddleware, which renders our 500 page and logs the traceback.
    A 404 under `portal_prefix` is the one "Invoice Not Found" page, whatever was not found."""

    async def http_error(request: AppRequest, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and request.url.path.startswith(portal_prefix + "/"):
            return _render(request, 404, "errors/invoice_not_found.html")
        # A detail we wrote ourselves is a readable sentence for the reader; Starlette's default is the bare phrase.
        # The console's details are English sentences; the portal's are Messages (RefusedRequest).
        detail: Message | str | None = exc.message if isinstance(exc, RefusedRequest) else exc.detail
        if detail == HTTPStatus(exc.status_code).phrase:
            detail = None
        return _render(request, exc.status_code, detail=detail)

    handlers: dict[Any, ExceptionHandler] = {HTTPException: http_error, ClientDisconnect: client_gone}
    handlers.update(dict.fromkeys(UNAVAILABLE_ERRORS, service_unavailable))
    handlers[PdfUnavailable] = pdf_unavailable
    handlers[asyncpg.CharacterNotInRepertoireError] = unstorable_text
    handlers[Exception] = server_error
    return handlers


def _render(
    request: AppRequest, status_code: int, template: str = "errors/error.html", detail: Message | str | None = None
) -> Response:
    title, message = _MESSAGES.get(status_code, _MESSAGES[500])
    # Neither the invoice nor the workspace is known here: the reader's choice or browser, else English. A plain
    # string detail is one of the console's English sentences: then the whole page is English, not half of it.
    texts = ENGLISH if isinstance(detail, str) else reader_texts(request)
    # Absent when the lifespan never ran (or failed).
    templates: Jinja2Templates | None = request.scope.get("state", {}).get("templates")
    headers = {"Retry-After": "30"} if status_code == 503 else None
    if templates is None:
        said = detail if isinstance(detail, str) else texts.say(detail or message)
        return PlainTextResponse(f"{texts.say(title)}. {said}", status_code=status_code, headers=headers)
    context = {"title": title, "message": detail or message, "status_code": status_code, "texts": texts}
    body = templates.get_template(template).render({"request": request, **context})
    return HTMLResponse(body, status_code=status_code, headers=headers)


async def client_gone(request: AppRequest, exc: Exception) -> Response:
    """The client hung up before its body arrived: nothing to answer and nothing of ours went wrong."""
    log.info("client went away during %s %s", request.method, request.url.path)
    return PlainTextResponse("The request was not completely received.", status_code=400)


async def unstorable_text(request: AppRequest, exc: Exception) -> Response:
    """Text PostgreSQL cannot hold (NUL) that slipped past the forms' cleaning: the sender's input, not our fault.
    Logged, as it means a field reached a query uncleaned; the transaction it broke rolled back whole."""
    log.warning("unstorable text on %s %s: %s", request.method, request.url.path, exc)
    return _render(request, 400, detail=msg("What you sent contains characters that cannot be stored. Remove them."))


async def pdf_unavailable(request: AppRequest, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return _render(request, 503, detail=exc.message)


async def service_unavailable(request: AppRequest, exc: Exception) -> Response:
    log.warning("service unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _render(request, 503)


async def server_error(request: AppRequest, exc: Exception) -> Response:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return await service_unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _render(request, 500)
