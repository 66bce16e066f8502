"""Cache hits of the public page and its PDF, answered in front of the framework's stack.

Customers open an invoice the minute its e-mail arrives, so most requests for a page or its PDF are hits of the
process caches. Through Starlette such a hit costs ~20 µs of middleware, routing, request and response objects
around two dictionary look-ups: more than the look-ups themselves. This layer makes the same look-ups as the views
(the link through PortalCache.document_for_link, which checks its expiry and that the change feed vouches for the
cache; the page under the same key; the PDF the views would send at once) and sends the same bytes and headers. It
answers only requests whose answer cannot depend on anything else: a plain GET of the page (or `?view=`) or of
the PDF, no htmx, no comment writer's cookie, no embed, no body. Everything else, and every miss, goes on to the
app untouched, so the views stay the one place that decides; tests compare the two answers byte for byte.
The security headers are added outside this layer (web/app.py), as for every other answer.
"""

from __future__ import annotations

from re import Pattern

from starlette.requests import cookie_parser
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from web.comments.form import SESSION_COOKIE
from web.i18n.choice import LANGUAGE_COOKIE, LOCALE_HEADER, reader_choice
from web.invoices.documents import InvoiceDocument
from web.invoices.links import token_hash
from web.invoices.printing import invoice_pdf_in_memory, pdf_filename
from web.portal.pages import document_reader_texts, page_key
from web.portal.viewer import MAX_TOKEN_LENGTH
from web.state import State

RawHeaders = list[tuple[bytes, bytes]]
# The page's views: the query strings a plain link or the view switch sends (web.portal.pages.PREVIEW_MODES).
_PAGE_QUERIES = {b"": "document", b"view=document": "document", b"view=pdf": "pdf"}
_LOCALE_HEADER = LOCALE_HEADER.lower().encode()
# A request with any of these is the views' to answer: a fragment or history restore (htmx), a body to refuse.
_NOT_PLAIN = frozenset({b"hx-request", b"content-length", b"transfer-encoding"})


class CachedHits:
    """ASGI layer: the public page's and its PDF's cache hits; `served` counts them (tests, a profile)."""

    def __init__(self, app: ASGIApp, *, page: Route, pdf: Route) -> None:
        self.app = app
        self._page_path: Pattern[str] = page.path_regex
        self._pdf_path: Pattern[str] = pdf.path_regex
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self._cached_answer(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        headers, body = answer
        self.served += 1
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cached_answer(self, scope: Scope) -> tuple[RawHeaders, bytes] | None:
        state: State | None = scope.get("state")
        if state is None or scope.get("root_path"):
            return None
        path = scope["path"]
        page = self._page_path.match(path)
        matched = page or self._pdf_path.match(path)
        if matched is None:
            return None
        query = scope["query_string"]
        if query and (page is None or query not in _PAGE_QUERIES):
            return None  # a download, an embed, a language in the URL: the views' to answer
        request_headers = _plain_request_headers(scope)
        if request_headers is None:
            return None
        token: str = matched["token"]
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        now = state["clock"]()
        document = state["portal_cache"].document_for_link(token_hash(token), now)
        if document is None:
            return None
        if page is None:
            return _pdf_answer(state, document)
        cookie = request_headers.get(b"cookie")
        cookies = cookie_parser(cookie.decode("latin-1")) if cookie is not None else {}
        if SESSION_COOKIE in cookies:
            return None  # a comment writer may get their own form (web.views.portal.invoice_show)
        named = request_headers.get(_LOCALE_HEADER)
        chosen = reader_choice(named.decode("latin-1") if named else None, cookies.get(LANGUAGE_COOKIE))
        accept_language = request_headers.get(b"accept-language")
        texts = document_reader_texts(document, chosen, accept_language.decode("latin-1") if accept_language else None)
        key = page_key(document, token, texts, _PAGE_QUERIES[query], False, now.date())
        body = state["portal_cache"].page(document.invoice.id, key)
        if body is None:
            return None
        # What web.http.rendering.html_response sends.
        return [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"text/html; charset=utf-8"),
            (b"vary", b"HX-Request"),
        ], body


def _plain_request_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request's headers by name (the first of each, as Starlette's `headers.get` reads them), or None when
    one says the views must answer. Cookies split over several fields (HTTP/2 sends them so) are the views' too:
    Starlette merges every field, and one of the later ones may choose the language or name a comment writer."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _NOT_PLAIN or (name == b"cookie" and name in found):
            return None
        found.setdefault(name, value)
    return found


def _pdf_answer(state: State, document: InvoiceDocument) -> tuple[RawHeaders, bytes] | None:
    pdf = invoice_pdf_in_memory(state["pdf_cache"], document)
    if pdf is None:
        return None
    # What web.http.rendering.pdf_response sends for an inline PDF.
    disposition = f'inline; filename="{pdf_filename(document.invoice.number)}"'
    return [
        (b"content-disposition", disposition.encode("latin-1")),
        (b"content-length", str(len(pdf)).encode()),
        (b"content-type", b"application/pdf"),
    ], pdf
