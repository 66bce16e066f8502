"""In-process cache for the public page, trusted only while the change feed is connected.

Per invoice: its InvoiceDocument, the live link tokens (by hash, with expiry) that lead to it, and rendered
page bodies per (version, link token, reader's locale, part, page or fragment, day). An invoice's entry is dropped
when the database announces a change to it or to its workspace's wording (web/realtime.py); everything is
dropped when the feed reconnects.
Unknown tokens are never cached, so guessing cannot fill memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from web.invoices.documents import InvoiceDocument
from web.realtime import ChangeFeed

# version, link token (the page links to its own URLs), reader locale, part, fragment, ISO day
PageKey = tuple[int, str, str, str, bool, str]
_MAX_PAGES_PER_INVOICE = 32


@dataclass(slots=True)
class _Entry:
    document: InvoiceDocument
    links: dict[bytes, datetime | None] = field(default_factory=dict)
    pages: dict[PageKey, bytes] = field(default_factory=dict)


class PortalCache:
    def __init__(self, feed: ChangeFeed, *, max_invoices: int = 5000) -> None:
        self.feed = feed
        self.max_invoices = max_invoices
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._invoice_by_link: dict[bytes, int] = {}
        detach_invoices = feed.subscribe(lambda change: self.forget_invoice(change.invoice_id), self.clear)
        detach_workspaces = feed.subscribe_workspaces(self.forget_workspace)

        def detach() -> None:
            detach_invoices()
            detach_workspaces()

        self.detach = detach

    def document_for_link(self, token_hash: bytes, now: datetime) -> InvoiceDocument | None:
        if not self.feed.connected:
            return None
        invoice_id = self._invoice_by_link.get(token_hash)
        entry = self._entries.get(invoice_id) if invoice_id is not None else None
        if entry is None:
            return None
        expires_at = entry.links.get(token_hash)
        if expires_at is not None and now >= expires_at:
            return None
        self._entries.move_to_end(entry.document.invoice.id)
        return entry.document

    def remember(self, stamp: int, token_hash: bytes, expires_at: datetime | None, document: InvoiceDocument) -> None:
        """Store what was read from the database at `stamp`, unless the invoice changed meanwhile."""
        invoice_id = document.invoice.id
        if self.feed.changed_since(invoice_id, stamp, document.invoice.workspace_id):
            return
        entry = self._entries.get(invoice_id)
        if entry is None or entry.document.invoice.version != document.invoice.version:
            self.forget_invoice(invoice_id)
            entry = self._entries[invoice_id] = _Entry(document)
        entry.links[token_hash] = expires_at
        self._invoice_by_link[token_hash] = invoice_id
        while len(self._entries) > self.max_invoices:
            self.forget_invoice(next(iter(self._entries)))

    def page(self, invoice_id: int, key: PageKey) -> bytes | None:
        entry = self._entries.get(invoice_id) if self.feed.connected else None
        return entry.pages.get(key) if entry is not None else None

    def remember_page(self, stamp: int, invoice_id: int, key: PageKey, body: bytes) -> None:
        entry = self._entries.get(invoice_id)
        if entry is None or self.feed.changed_since(invoice_id, stamp, entry.document.invoice.workspace_id):
            return
        if len(entry.pages) >= _MAX_PAGES_PER_INVOICE:
            entry.pages.clear()
        entry.pages[key] = body

    def forget_workspace(self, workspace_id: int) -> None:
        for invoice_id in [i for i, e in self._entries.items() if e.document.invoice.workspace_id == workspace_id]:
            self.forget_invoice(invoice_id)

    def forget_invoice(self, invoice_id: int) -> None:
        entry = self._entries.pop(invoice_id, None)
        if entry is not None:
            for token_hash in entry.links:
                self._invoice_by_link.pop(token_hash, None)

    def clear(self) -> None:
        self._entries.clear()
        self._invoice_by_link.clear()
