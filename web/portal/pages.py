"""What a portal page shows its viewer: the template context, the comment thread, and rendered pages from the
process cache (a hit builds no context at all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial

from db.comments import select_comments
from web.comments.form import CommentForm, anonymous_form
from web.einvoice.files import available_kinds
from web.http.locale import chosen_language
from web.http.rendering import render_to_bytes
from web.http.urls import path_for
from web.i18n.catalogs import Texts, available_languages, language_name
from web.i18n.choice import choose_texts, document_texts
from web.invoices.documents import InvoiceDocument
from web.payments.checkout import payment_card
from web.portal.page_cache import PageKey, PortalCache
from web.portal.viewer import LinkHolder, Viewer
from web.state import AppRequest
from web.stripe.accounts import publishable_key_for

PREVIEW_MODES = ("document", "pdf")


def preview_mode(request: AppRequest) -> str:
    return preview_mode_of(request.query_params.get("view", "document"))


def preview_mode_of(value: str) -> str:
    return value if value in PREVIEW_MODES else "document"


def portal_context(request: AppRequest, viewer: Viewer, *, words: Texts | None = None) -> dict[str, object]:
    """Everything a portal template needs; built only when a page is rendered, not for cache hits. `words`: one
    language for the page and the document alike (the console's preview of a rewording)."""
    settings = request.state["settings"]
    document = viewer.document
    texts = words or viewer_texts(request, viewer)
    doc_texts = words or document_texts(document)
    return {
        "doc": document,
        "card": payment_card(settings, document, str(texts.locale)),
        "stripe_js_url": settings.stripe_js_url,
        "publishable_key": publishable_key_for(settings, document.card_keys),
        # The page's words and numbers are the reader's; the document's are the invoice's own.
        "texts": texts,
        "viewer_locale": texts.locale,
        "doc_texts": doc_texts,
        "doc_locale": str(doc_texts.locale),
        "languages": [(code, language_name(code)) for code in available_languages()],
        "mode": preview_mode(request),
        # The UTC day of the injected clock: the page says "overdue" by it, whatever the server's zone.
        "today": request.state["clock"]().date(),
        "portal_url": partial(viewer.path, request),
        # The document shows the logo it was issued with, by its content address.
        "logo_src": path_for(request, "logo_show", sha=document.logo_sha) if document.logo_sha else None,
        "is_staff_preview": viewer.is_staff_preview,
        "einvoice_kinds": available_kinds(document),
    }


def viewer_texts(request: AppRequest, viewer: Viewer) -> Texts:
    return document_reader_texts(viewer.document, chosen_language(request), request.headers.get("accept-language"))


def document_reader_texts(document: InvoiceDocument, chosen: str | None, accept_language: str | None) -> Texts:
    """The reader's language (what they chose, else their browser's); when nothing about the reader says one,
    the invoice's, then the workspace's."""
    invoice = document.invoice
    return choose_texts(
        chosen, accept_language, invoice.locale, document.workspace_locale, overrides=document.wording
    )  # fmt: skip


def page_key(document: InvoiceDocument, token: str, texts: Texts, part: str, fragment: bool, today: date) -> PageKey:
    """What a cached page is rendered from besides the document's version: one key for a view and for
    web/portal/cache_hits.py alike."""
    return (
        document.invoice.version,
        token,  # the page links to its own URLs
        texts.key,
        part,
        fragment,
        today.isoformat(),  # the page says "overdue" by the day
    )


async def thread_context(
    request: AppRequest, viewer: Viewer, form: CommentForm | None = None, after: int = 0
) -> dict[str, object]:
    """The comment thread (comments after `after`) and the form; anonymous readers' form unless one is given."""
    invoice = viewer.document.invoice
    async with request.state["pool"].acquire() as conn:
        comments = await select_comments(conn, invoice.id, after) if invoice.comments_enabled else []
    return {
        "comments": comments,
        "last_comment_id": comments[-1].id if comments else after,
        "comment_form": form or anonymous_form(invoice),
    }


async def cached_page(
    request: AppRequest,
    viewer: LinkHolder,
    part: str,
    fragment: bool,
    template: str,
    extra: Callable[[], Awaitable[dict[str, object]]] | None = None,
) -> bytes:
    """A rendered page or fragment from the process cache. A change that lands after the viewer's document was
    read keeps the result out of the cache. `extra` loads more context on a miss (the comment thread)."""
    cache: PortalCache = request.state["portal_cache"]
    invoice = viewer.document.invoice
    today = request.state["clock"]().date()
    key = page_key(viewer.document, viewer.token, viewer_texts(request, viewer), part, fragment, today)
    body = cache.page(invoice.id, key)
    if body is None:
        more = await extra() if extra is not None else {}
        body = render_to_bytes(request, template, {**portal_context(request, viewer), **more})
        cache.remember_page(viewer.stamp, invoice.id, key, body)
    return body
