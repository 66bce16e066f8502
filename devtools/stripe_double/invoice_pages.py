"""The hosted invoice page and PDF a finalized invoice links to (`hosted_invoice_url`, `invoice_pdf`).

Why: Stripe's customers open these links without any API key, so they are served before localstripe's key check.
Small on purpose (a page and a one-page PDF written by hand): enough for a portal to link to them and a test to
fetch them. Drafts have no page (their URLs are null, as on Stripe).
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from localstripe import resources

from .invoice_model import status
from .invoice_totals import totals

ZERO_DECIMAL = set("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
PAGE_PATH = re.compile(r"^/invoice/(?P<id>in_[A-Za-z0-9]+)(?P<pdf>/pdf)?/?$")


def _stores() -> Iterator[Any]:
    """The store in place, then every account's when the double runs several (stripe_double/accounts.py, if
    loaded, keeps one store per account): a page request carries no key that would say which account it is."""
    yield resources.store
    registry = getattr(sys.modules.get(f"{__package__}.accounts"), "registry", None)
    for account in list(getattr(registry, "accounts", {}).values()):
        yield account.store


def find_hosted_invoice(ident: str) -> Any:
    """The invoice a page request names, whichever account it belongs to."""
    for store in _stores():
        if (invoice := store.get(f"invoice:{ident}")) is not None:
            return invoice
    return None


def money(amount: int, currency: str) -> str:
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 3 if currency.lower() in THREE_DECIMAL else 2
    value = Decimal(amount).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency.upper()}"


def _facts(invoice: Any) -> list[tuple[str, str]]:
    sums = totals(invoice)
    paid = int(invoice.amount_paid)
    facts = [("Invoice number", invoice.number or invoice.id), ("Status", status(invoice))]
    if getattr(invoice, "due_date", None):
        facts.append(("Due date", datetime.fromtimestamp(invoice.due_date, UTC).date().isoformat()))
    for line in invoice.lines._list:
        facts.append((f"{line.description or 'Item'} × {line.quantity}", money(int(line.amount), invoice.currency)))
    facts += [
        ("Subtotal", money(sums.subtotal, invoice.currency)),
        ("Tax", money(sums.inclusive_tax + sums.exclusive_tax, invoice.currency)),
        ("Total", money(sums.total, invoice.currency)),
        ("Amount paid", money(paid, invoice.currency)),
        ("Amount remaining", money(max(0, sums.amount_due - paid), invoice.currency)),
    ]
    return facts


def page_html(invoice: Any) -> str:
    rows = "".join(
        f"<tr><th scope=row>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in _facts(invoice)
    )
    title = html.escape(invoice.number or invoice.id)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invoice {title}</title></head>'
        f"<body><main><h1>Invoice {title}</h1><table>{rows}</table>"
        f'<p><a href="/invoice/{html.escape(invoice.id)}/pdf">Download the PDF</a></p></main></body></html>'
    )


def _pdf_text(text: str) -> str:
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(invoice: Any) -> bytes:
    """A valid one-page PDF 1.4 (Helvetica, one text line per fact) with a correct cross-reference table."""
    lines = [f"Invoice {invoice.number or invoice.id}"] + [f"{name}: {value}" for name, value in _facts(invoice)]
    text = "".join(f"({_pdf_text(line)}) Tj T* " for line in lines)
    stream = f"BT /F1 11 Tf 14 TL 56 780 Td {text}ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@web.middleware
async def hosted_pages(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """GET /invoice/{id} (HTML) and /invoice/{id}/pdf, without an API key; everything else passes through."""
    match = PAGE_PATH.match(request.path) if request.method in ("GET", "HEAD") else None
    if match is None:
        return await handler(request)  # type: ignore[no-any-return]
    invoice = find_hosted_invoice(match["id"])
    if invoice is None or invoice._draft:
        return web.Response(status=404, text="No such invoice.", content_type="text/plain")
    if match["pdf"]:
        filename = f"Invoice-{invoice.number or invoice.id}.pdf"
        return web.Response(
            body=pdf_bytes(invoice), content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )  # fmt: skip
    return web.Response(text=page_html(invoice), content_type="text/html")
