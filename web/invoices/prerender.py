"""PDFs and e-invoice files made before anyone asks for them, so a customer opening an invoice the minute its
e-mail arrives gets a cache hit (issue 19).

The change feed says which invoices changed (sent, paid, voided, imported from Stripe: anything that bumps its
version); each is rendered into the shared cache at once. A sweep, at start (a deploy may have changed the
templates, hence the fingerprint) and then every `sweep_seconds`, catches what the feed could not say (a reset,
a workspace's wording): open invoices first, then those changed in the last `recent_days`. Older ones render on
demand. With several processes, an advisory lock per invoice keeps them from rendering the same one twice.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from starlette.templating import Jinja2Templates

from db.invoices import select_invoice_by_id
from db.pdf_cache import select_invoices_without_pdf, try_lock_render
from web.einvoice.files import available_kinds, shared_einvoice_file
from web.invoices.documents import load_document
from web.invoices.printing import invoice_pdf_bytes
from web.pdf import PdfCache
from web.realtime import Change, ChangeFeed

log = logging.getLogger(__name__)


class PdfPrerenderer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        templates: Jinja2Templates,
        pdf_cache: PdfCache,
        feed: ChangeFeed,
        *,
        sweep_seconds: float,
        batch: int = 20,
        recent_days: int = 90,
    ) -> None:
        self.pool, self.templates, self.pdf_cache = pool, templates, pdf_cache
        self.sweep_seconds, self.batch, self.recent_days = sweep_seconds, batch, recent_days
        self.rendered = 0  # how many PDFs it made (tests and the benchmark read it)
        self._changed: set[int] = set()
        self._sweep = True  # the first round is a sweep
        self._wake = asyncio.Event()
        self._wake.set()
        self._unsubscribe = feed.subscribe(self._on_change, self._on_reset)
        self._unsubscribe_workspaces = feed.subscribe_workspaces(lambda _workspace: self._on_reset())

    def _on_change(self, change: Change) -> None:
        if change.comment_id is None:  # a comment is not on the PDF
            self._changed.add(change.invoice_id)
            self._wake.set()

    def _on_reset(self) -> None:
        self._sweep = True
        self._wake.set()

    def close(self) -> None:
        self._unsubscribe()
        self._unsubscribe_workspaces()

    async def run_forever(self) -> None:
        """The app's background task (cancelled when it stops)."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
            except TimeoutError:
                self._sweep = True
            self._wake.clear()
            try:
                await self.round()
            except Exception:  # the database away for a moment must not end the loop
                log.exception("PDF pre-render round failed")

    async def round(self) -> int:
        """Render what is missing: the invoices changed since the last round, or (a sweep) every likely one."""
        among = None if self._sweep else sorted(self._changed)
        self._sweep = False
        self._changed.clear()
        if among == []:
            return 0
        done = 0
        tried: set[int] = set()
        while True:
            async with self.pool.acquire() as conn:
                found = await select_invoices_without_pdf(
                    conn, self.pdf_cache.fingerprint, among=among, limit=self.batch, recent_days=self.recent_days
                )
            waiting = [invoice_id for invoice_id in found if invoice_id not in tried]
            for invoice_id in waiting:
                tried.add(invoice_id)
                done += await self._render(invoice_id)
            # The changed ones are all done; a sweep goes on while it finds more (not ones another process holds).
            if among is not None or not waiting or len(found) < self.batch:
                return done

    async def _render(self, invoice_id: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await try_lock_render(conn, invoice_id):
                return 0  # another process is rendering it
            invoice = await select_invoice_by_id(conn, invoice_id)
            if invoice is None:
                return 0
            document = await load_document(conn, invoice)
            # Rendered while the lock's transaction is open: another process skips this invoice meanwhile.
            await invoice_pdf_bytes(self.pool, self.templates, self.pdf_cache, document)
            for kind in available_kinds(document):  # and its e-invoice files, the customer's other downloads
                await shared_einvoice_file(self.pool, self.pdf_cache.fingerprint, document, kind)
        self.rendered += 1
        return 1
