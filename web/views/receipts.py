"""A payment's receipt behind the invoice's link: the page (in the reader's language) and its PDF (the invoice's)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response

from web.http.rendering import html_response, pdf_response, render_to_bytes
from web.invoices.printing import pdf_filename
from web.portal.pages import viewer_texts
from web.portal.viewer import link_holder
from web.receipts.model import receipt_for
from web.receipts.printing import receipt_pdf_bytes
from web.state import AppRequest


async def receipt_show(request: AppRequest) -> Response:
    viewer = await link_holder(request)
    receipt = receipt_for(viewer.document, request.path_params["payment_id"])
    if receipt is None:
        raise HTTPException(404)
    texts = viewer_texts(request, viewer)
    context = {
        "texts": texts, "doc": viewer.document, "receipt": receipt, "loc": texts.locale,
        "pdf_url": viewer.path(request, "receipt_pdf", payment_id=receipt.payment.id),
        "back_url": viewer.path(request, "invoice_show"),
    }  # fmt: skip
    return html_response(render_to_bytes(request, "receipts/page.html", context))


async def receipt_pdf(request: AppRequest) -> Response:
    viewer = await link_holder(request)
    receipt = receipt_for(viewer.document, request.path_params["payment_id"])
    if receipt is None:
        raise HTTPException(404)
    renderer = request.state["pdf_cache"].renderer
    pdf = await receipt_pdf_bytes(request.state["templates"], renderer, viewer.document, receipt)
    return pdf_response(pdf, pdf_filename(receipt.number), download=True)
