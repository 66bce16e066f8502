"""The invoice's PDF: the print template rendered from the document, turned into bytes by the shared PDF cache
(keyed by version and template fingerprint), so the customer's download and the console's preview are the same."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import asyncpg
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from web.einvoice.cii import cii_xml
from web.einvoice.model import einvoice_of
from web.einvoice.readiness import ready
from web.i18n.catalogs import Texts
from web.i18n.choice import document_texts
from web.invoices.documents import InvoiceDocument
from web.invoices.logos import logo_data_uri
from web.pdf import PdfCache, PrintJob


async def invoice_pdf_bytes(
    pool: asyncpg.Pool, templates: Jinja2Templates, pdf_cache: PdfCache, document: InvoiceDocument
) -> bytes:
    """The invoice's PDF; a Factur-X one (the same pages, its EN 16931 XML inside) when the workspace wants it and
    the invoice can be an e-invoice."""
    invoice = document.invoice
    words, factur_x = pdf_variant(document)

    async def build() -> PrintJob:
        logo_src = None
        if document.logo_sha is not None:
            async with pool.acquire() as conn:
                logo_src = await logo_data_uri(conn, document.logo_sha)
        # The XML only for a render: a cached PDF costs no XML.
        xml = cii_xml(einvoice_of(document)) if factur_x else None
        return PrintJob(print_html(templates, document, logo_src), xml)

    return await pdf_cache.get(pool, invoice.id, invoice.version, build, words=words)


def invoice_pdf_in_memory(pdf_cache: PdfCache, document: InvoiceDocument) -> bytes | None:
    """The invoice's PDF if this process holds it (what invoice_pdf_bytes would answer at once), else None."""
    words, _ = pdf_variant(document)
    return pdf_cache.in_memory(document.invoice.id, document.invoice.version, words)


def pdf_variant(document: InvoiceDocument) -> tuple[str, bool]:
    """The PDF cache's words for the document, and whether its PDF is a Factur-X one (part of those words)."""
    # About 60 µs, more than a cached PDF's whole request (web/portal/cache_hits.py): worked out once per cached
    # document.
    return document.remembered("pdf_variant", lambda: _work_out_variant(document))


def _work_out_variant(document: InvoiceDocument) -> tuple[str, bool]:
    factur_x = document.einvoice_in_pdf and ready(document)
    return words_key(document_texts(document)) + (":factur-x" if factur_x else ""), factur_x


def words_key(texts: Texts) -> str:
    """What the PDF's words depend on besides the templates: the language and formats, and the workspace's
    wording in that language."""
    wording = "\n".join(f"{key}={value}" for key, value in sorted(texts.overrides.items()))
    return hashlib.sha256(f"{texts.key}\n{wording}".encode()).hexdigest()[:16]


def print_html(templates: Jinja2Templates, document: InvoiceDocument, logo_src: str | None) -> str:
    """The HTML WeasyPrint turns into the PDF; `logo_src` is the logo inline (a data: URI) or None."""
    template = templates.get_template("pdf/invoice.html")
    texts = document_texts(document)
    return template.render(doc=document, texts=texts, logo_src=logo_src, page_counter=page_counter(texts))


def page_counter(texts: Texts) -> Markup:
    """The footer's "Page 1 of 3" as a CSS content value, in the document's words (an override included)."""
    pieces = []
    for piece in re.split(r"(%\(page\)s|%\(pages\)s)", texts.gettext("Page %(page)s of %(pages)s")):
        if piece in ("%(page)s", "%(pages)s"):
            pieces.append(f"counter({piece[2:-2]})")
        elif piece := piece.replace("%%", "%"):  # a format string's escaped percent sign is one sign here
            # A CSS string inside <style>: quotes and backslashes escaped, "<" written as an escape so no text
            # can close the style element.
            quoted = piece.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ")
            pieces.append(f'"{quoted}"')
    return Markup(" ".join(pieces))  # noqa: S704 (quoted, escaped CSS strings and counters only)


@lru_cache(maxsize=4096)
def pdf_filename(number: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", number or "invoice") + ".pdf"
