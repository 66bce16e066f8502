"""Stripe Invoicing for the double: one-off invoices, invoice items and lines, every status transition with its
events, numbers, hosted pages and PDFs, partial payments, Payment Records (README.md, "Stripe Invoicing in the
double", lists what still differs from Stripe).

How it plugs into localstripe (read its server.py): its /v1/invoices and /v1/invoiceitems routes are bound at import
time, so `install` takes the paths below over with a middleware, and patches localstripe's classes (invoice_model)
so its subscriptions, which create and pay invoices through them, keep working and get the same behaviour. The API
middleware is appended when the app starts, after every other middleware: it is then the innermost one, inside
localstripe's error, auth and store handling and inside any per-account store swap, whatever order the server
script installed things in. The hosted pages take no API key, so their middleware sits first, right inside
localstripe's error handling.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web
from localstripe import server

from . import charges
from . import invoice_actions as invoices
from . import invoice_items as items
from . import invoice_lines as lines
from . import invoice_payments as payments
from . import payment_records as records
from .invoice_common import base_url
from .invoice_common import expand as expand_paths
from .invoice_model import patch
from .invoice_pages import hosted_pages

# A handler takes the parameters and the path's `id`; a path naming a second object passes it by its group's name
# (POST /v1/invoices/{id}/lines/{line}).
Handler = Callable[..., Any]
ID = r"(?P<id>in_[A-Za-z0-9]+)"
ITEM = r"(?P<id>ii_[A-Za-z0-9]+)"
LINE = r"(?P<line>il_[A-Za-z0-9]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{path}$"), handler)
    for method, path, handler in (
        ("POST", "/v1/invoices", invoices.create),
        ("GET", "/v1/invoices", invoices.list_invoices),
        ("GET", f"/v1/invoices/{ID}", invoices.retrieve),
        ("POST", f"/v1/invoices/{ID}", invoices.update),
        ("DELETE", f"/v1/invoices/{ID}", invoices.delete),
        ("GET", f"/v1/invoices/{ID}/lines", invoices.lines),
        ("POST", f"/v1/invoices/{ID}/lines/{LINE}", lines.update_line),
        ("POST", f"/v1/invoices/{ID}/finalize", invoices.finalize_invoice),
        ("POST", f"/v1/invoices/{ID}/send", invoices.send),
        ("POST", f"/v1/invoices/{ID}/pay", invoices.pay),
        ("POST", f"/v1/invoices/{ID}/void", invoices.void),
        ("POST", f"/v1/invoices/{ID}/mark_uncollectible", invoices.mark_uncollectible),
        ("POST", f"/v1/invoices/{ID}/attach_payment", payments.attach_payment),
        ("GET", "/v1/invoice_payments", payments.list_payments),
        ("GET", r"/v1/invoice_payments/(?P<id>inpay_[A-Za-z0-9]+)", payments.retrieve),
        ("POST", "/v1/payment_records/report_payment", records.report_payment),
        ("GET", r"/v1/payment_records/(?P<id>pr_[A-Za-z0-9]+)", records.retrieve),
        ("POST", "/v1/invoiceitems", items.create),
        ("GET", "/v1/invoiceitems", items.list_items),
        ("GET", f"/v1/invoiceitems/{ITEM}", items.retrieve),
        ("POST", f"/v1/invoiceitems/{ITEM}", items.update),
        ("DELETE", f"/v1/invoiceitems/{ITEM}", items.delete),
    )
]


def _route(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for route_method, pattern, handler in ROUTES:
        match = pattern.match(path) if route_method == method else None
        if match is not None:
            return handler, match.groupdict()
    return None


@web.middleware
async def invoicing_api(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Serve the Invoicing paths; note the double's origin for every request (finalization builds URLs from it)."""
    base_url.set(str(request.url.origin()))
    found = _route(request.method, request.path)
    if found is None:
        return await handler(request)  # type: ignore[no-any-return]
    target, ids = found
    if request.method == "POST":
        data = dict(await server.get_post_data(request) or {})
    else:
        data = dict(server.unflatten_data(request.query) or {})
    expand = data.pop("expand", None)
    result = target(data, ids.pop("id", None), **ids)
    body = result._export(expand=expand) if hasattr(result, "_export") else expand_paths(result, expand)
    return server.json_response(body)  # type: ignore[no-any-return]


async def _append_api_middleware(app: web.Application) -> None:
    app.middlewares.append(invoicing_api)


def install(app: web.Application) -> None:
    """Add the Invoicing routes and behaviour to localstripe's app (before it starts)."""
    patch()
    charges.patch()
    errors = server.error_middleware
    position = app.middlewares.index(errors) + 1 if errors in app.middlewares else 0
    app.middlewares.insert(position, hosted_pages)  # before any key check: the pages are public
    app.on_startup.append(_append_api_middleware)
