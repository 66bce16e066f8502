"""A receipt's PDF: the same receipt template as its page, in the invoice's language, rendered on demand (a receipt
is small and rarely fetched twice, so it is not cached like invoices)."""

from __future__ import annotations

from starlette.templating import Jinja2Templates

from web.i18n.choice import document_texts
from web.invoices.documents import InvoiceDocument
from web.pdf import PdfRenderer
from web.receipts.model import Receipt


async def receipt_pdf_bytes(
    templates: Jinja2Templates, renderer: PdfRenderer, document: InvoiceDocument, receipt: Receipt
) -> bytes:
    texts = document_texts(document)
    html = templates.get_template("pdf/receipt.html").render(
        doc=document, receipt=receipt, texts=texts, loc=texts.locale
    )
    return await renderer.render(html)
