"""The invoice's PDF: the print template rendered from the document, turned into bytes by the shared PDF cache
(keyed by version and template fingerprint), so the customer's download and the console's preview are the same."""

from __future__ import annotations

import re
from functools import lru_cache

import asyncpg
from starlette.templating import Jinja2Templates

from web.invoices.documents import InvoiceDocument
from web.invoices.logos import logo_data_uri
from web.pdf import PdfCache


async def invoice_pdf_bytes(
    pool: asyncpg.Pool, templates: Jinja2Templates, pdf_cache: PdfCache, document: InvoiceDocument
) -> bytes:
    invoice = document.invoice

    async def build_html() -> str:
        logo_src = None
        if document.logo_sha is not None:
            async with pool.acquire() as conn:
                logo_src = await logo_data_uri(conn, document.logo_sha)
        return print_html(templates, document, logo_src)

    return await pdf_cache.get(pool, invoice.id, invoice.version, build_html)


def print_html(templates: Jinja2Templates, document: InvoiceDocument, logo_src: str | None) -> str:
    """The HTML WeasyPrint turns into the PDF; `logo_src` is the logo inline (a data: URI) or None."""
    template = templates.get_template("pdf/invoice.html")
    return template.render(doc=document, doc_locale=document.invoice.locale, logo_src=logo_src)


@lru_cache(maxsize=4096)
def pdf_filename(number: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", number or "invoice") + ".pdf"
