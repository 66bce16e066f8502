"""Who is looking at a public invoice, resolved once per request; the only thing portal views ask.

Today a viewer is a link holder (the capability link in the path) or a teammate previewing from the console; a
verified customer and an embedded session will be other kinds. Each kind knows its own URLs, so the same
templates serve every kind: a preview's links (PDF, view switch) stay inside the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from starlette.exceptions import HTTPException

from db.invoices import Invoice
from db.links import select_live_link
from web.http.urls import path_for
from web.invoices.documents import InvoiceDocument, load_document
from web.invoices.links import token_hash
from web.portal.page_cache import PortalCache
from web.state import AppRequest

# Tokens we issue are 32 characters; anything far longer is refused before hashing, like any unknown token.
MAX_TOKEN_LENGTH = 128


class InvoiceNotFound(HTTPException):
    """Unknown, expired, revoked or draft: one answer, the "Invoice Not Found" page (404), no hint which."""

    def __init__(self) -> None:
        super().__init__(status_code=404)


class Viewer(Protocol):
    @property
    def document(self) -> InvoiceDocument: ...
    @property
    def invoice(self) -> Invoice: ...
    @property
    def is_staff_preview(self) -> bool: ...
    def path(self, request: AppRequest, name: str, /, **params: Any) -> str:
        """The URL of a portal route (by name) as this viewer reaches it."""
        ...


@dataclass(frozen=True, slots=True)
class LinkHolder:
    """Whoever holds a live capability link: may read, download, pay and ask to comment. The only kind whose
    pages are cached (web.portal.pages.cached_page)."""

    token: str
    document: InvoiceDocument
    # The change feed's stamp taken before the document was read: a page rendered from it is cached only when
    # nothing about the invoice changed since.
    stamp: int
    is_staff_preview = False

    @property
    def invoice(self) -> Invoice:
        return self.document.invoice

    def path(self, request: AppRequest, name: str, /, **params: Any) -> str:
        return path_for(request, name, token=self.token, **params)


@dataclass(frozen=True, slots=True)
class StaffPreview:
    """A teammate looking at the customer's page from the console: the same templates and document, nothing
    recorded, no stream and no live forms; the page and the PDF link back into the console. Never cached: the
    preview reads the draft or invoice fresh each time."""

    document: InvoiceDocument
    is_staff_preview = True

    @property
    def invoice(self) -> Invoice:
        return self.document.invoice

    def path(self, request: AppRequest, name: str, /, **params: Any) -> str:
        invoice_id = self.document.invoice.id
        if name == "invoice_pdf":
            return path_for(request, "console_invoice_preview_pdf", invoice_id=invoice_id)
        if name == "invoice_einvoice":
            return path_for(request, "console_invoice_einvoice", invoice_id=invoice_id, **params)
        # Every other portal URL of a preview is the preview itself: its forms are inert.
        return path_for(request, "console_invoice_preview", invoice_id=invoice_id)


async def link_holder(request: AppRequest) -> LinkHolder:
    """The viewer behind the path's token, or InvoiceNotFound. Served from the process cache while the change
    feed vouches for it, else read in one connection."""
    token: str = request.path_params["token"]
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvoiceNotFound()
    digest = token_hash(token)
    cache: PortalCache = request.state["portal_cache"]
    now = request.state["clock"]()
    stamp = cache.feed.stamp()
    document = cache.document_for_link(digest, now)
    if document is not None:
        return LinkHolder(token, document, stamp)
    async with request.state["pool"].acquire() as conn:
        found = await select_live_link(conn, digest, now)
        if found is None:
            raise InvoiceNotFound()
        invoice, expires_at = found
        document = await load_document(conn, invoice)
    cache.remember(stamp, digest, expires_at, document)
    return LinkHolder(token, document, stamp)
