"""The public invoice page behind a capability link: summary, live/PDF preview, PDF download, view beacon."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from functools import lru_cache

from babel import Locale
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from db.activity import PDF_DOWNLOADED, insert_activity, insert_view_once
from db.comments import select_comments
from db.links import select_live_link
from web.comments.access import find_session
from web.comments.form import SESSION_COOKIE, CommentForm, anonymous_form, form_for
from web.http.rendering import html_response, render_to_bytes, wants_fragment
from web.invoices.documents import InvoiceDocument, load_document
from web.invoices.links import token_hash
from web.invoices.logos import logo_data_uri
from web.locales import negotiate_locale
from web.payments.checkout import payment_card
from web.portal.page_cache import PageKey, PortalCache

PREVIEW_MODES = ("document", "pdf")
# Tokens we issue are 32 characters; anything far longer is refused before hashing, like any unknown token.
_MAX_TOKEN_LENGTH = 128


async def find_document(request: Request) -> InvoiceDocument:
    """Unknown, expired, revoked or draft: one answer (404), no hint which. Served from the process cache while
    the change feed vouches for it, else read in one connection."""
    token: str = request.path_params["token"]
    if len(token) > _MAX_TOKEN_LENGTH:
        raise HTTPException(status_code=404)
    digest = token_hash(token)
    cache: PortalCache = request.state.portal_cache
    document = cache.document_for_link(digest)
    if document is not None:
        return document
    stamp = cache.feed.stamp()
    async with request.state.pool.acquire() as conn:
        found = await select_live_link(conn, digest)
        if found is None:
            raise HTTPException(status_code=404)
        invoice, expires_at = found
        document = await load_document(conn, invoice)
    cache.remember(stamp, digest, expires_at, document)
    return document


def _mode(request: Request) -> str:
    mode = request.query_params.get("view", "document")
    return mode if mode in PREVIEW_MODES else "document"


def _viewer_locale(request: Request, document: InvoiceDocument) -> Locale:
    return negotiate_locale(request.headers.get("accept-language"), document.invoice.locale)


def portal_context(
    request: Request, document: InvoiceDocument, *, preview_path: str | None = None
) -> dict[str, object]:
    """Everything a portal template needs; built only when a page is rendered, not for cache hits. A staff
    preview passes its own `preview_path`: the page's links (PDF, view switch) then stay inside the console."""
    settings = request.state.settings
    viewer_locale = _viewer_locale(request, document)
    return {
        "doc": document,
        "card": payment_card(settings, document, str(viewer_locale)),
        "stripe_js_url": settings.stripe_js_url,
        "publishable_key": settings.stripe_publishable_key,
        "viewer_locale": viewer_locale,
        "doc_locale": document.invoice.locale,
        "mode": _mode(request),
        "today": date.today(),
        "base_path": preview_path or f"/i/{request.path_params['token']}",
        "is_staff_preview": preview_path is not None,
    }


async def thread_context(
    request: Request, document: InvoiceDocument, form: CommentForm | None = None, after: int = 0
) -> dict[str, object]:
    """The comment thread (comments after `after`) and the form; anonymous readers' form unless one is given."""
    invoice = document.invoice
    async with request.state.pool.acquire() as conn:
        comments = await select_comments(conn, invoice.id, after) if invoice.comments_enabled else []
    return {
        "comments": comments,
        "last_comment_id": comments[-1].id if comments else after,
        "comment_form": form or anonymous_form(invoice),
    }


async def invoice_show(request: Request) -> Response:
    stamp = request.state.portal_cache.feed.stamp()
    document = await find_document(request)
    fragment = wants_fragment(request)
    if not fragment and document.invoice.comments_enabled and SESSION_COOKIE in request.cookies:
        # A verified writer sees their own form: rendered for them alone, never cached.
        async with request.state.pool.acquire() as conn:
            writer = await find_session(conn, document.invoice, request.cookies[SESSION_COOKIE], request.state.clock())
            form = await form_for(conn, document.invoice, writer) if writer is not None else None
        if form is not None:
            context = {**portal_context(request, document), **await thread_context(request, document, form)}
            return html_response(render_to_bytes(request, "portal/show.html", context))
    template = "portal/_preview.html" if fragment else "portal/show.html"
    extra = None if fragment else (lambda: thread_context(request, document))
    return html_response(await cached_page(request, stamp, document, _mode(request), fragment, template, extra))


async def cached_page(
    request: Request,
    stamp: int,
    document: InvoiceDocument,
    part: str,
    fragment: bool,
    template: str,
    extra: Callable[[], Awaitable[dict[str, object]]] | None = None,
) -> bytes:
    """A rendered page or fragment from the process cache; a hit builds no template context at all.

    `stamp` is the change feed's stamp taken before the document was read, so a change that lands meanwhile
    keeps the result out of the cache. `extra` loads more context on a miss (the comment thread)."""
    cache: PortalCache = request.state.portal_cache
    invoice = document.invoice
    today = date.today()
    key: PageKey = (
        invoice.version,
        request.path_params["token"],
        str(_viewer_locale(request, document)),
        part,
        fragment,
        str(today),  # ISO day: the page says "overdue" by it
    )
    body = cache.page(invoice.id, key)
    if body is None:
        more = await extra() if extra is not None else {}
        body = render_to_bytes(request, template, {**portal_context(request, document), **more, "today": today})
        cache.remember_page(stamp, invoice.id, key, body)
    return body


async def invoice_pdf(request: Request) -> Response:
    document = await find_document(request)
    invoice = document.invoice

    pdf = await render_pdf(request, document)
    download = request.query_params.get("download") == "1"
    if download and request.method == "GET":
        async with request.state.pool.acquire() as conn:
            await insert_activity(conn, invoice.id, PDF_DOWNLOADED)
    disposition = "attachment" if download else "inline"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{_pdf_filename(invoice.number)}"'},
    )


async def render_pdf(request: Request, document: InvoiceDocument) -> bytes:
    """The invoice's PDF from the shared cache (keyed by version and template fingerprint): the customer's
    download and the console's preview are the same bytes."""
    invoice = document.invoice

    async def build_html() -> str:
        logo_src = None
        if document.logo_sha is not None:
            async with request.state.pool.acquire() as conn:
                logo_src = await logo_data_uri(conn, document.logo_sha)
        template = request.state.templates.get_template("pdf/invoice.html")
        return template.render(doc=document, doc_locale=invoice.locale, logo_src=logo_src)

    pdf: bytes = await request.state.pdf_cache.get(request.state.pool, invoice.id, invoice.version, build_html)
    return pdf


@lru_cache(maxsize=4096)
def _pdf_filename(number: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", number or "invoice") + ".pdf"


async def invoice_viewed(request: Request) -> Response:
    """The page's script calls this once it has loaded in a browser: HEAD requests, link unfurlers and
    mail scanners that fetch without running scripts never count as a customer view."""
    document = await find_document(request)
    async with request.state.pool.acquire() as conn:
        await insert_view_once(conn, document.invoice.id)
    return Response(status_code=204)
