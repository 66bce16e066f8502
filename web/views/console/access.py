"""Portal access of one invoice: link expiry, revoke, a new link, and what the customer's page offers
(online payment, comments, who may write, TOTP). Every change is announced to the portal by the database
triggers, so cached pages and open streams follow at once."""

from __future__ import annotations

from datetime import UTC, datetime, time

from starlette.exceptions import HTTPException
from starlette.responses import Response

from web.console import actions, comment_modes
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text
from web.console.invoice_page import detail_page, done, locked_invoice
from web.state import AppRequest


@console_view(role="billing")
async def link_expiry(request: AppRequest) -> Response:
    """Set (a date: the link works through that day, UTC) or clear (empty) a link's expiry."""
    form = Form.of(form_text(request), ("expires_on",))
    day = form.day("expires_on", "expiry date")
    now = request.state["clock"]()
    expires_at = datetime.combine(day, time.max, tzinfo=UTC) if day else None
    if expires_at is not None and expires_at <= now:
        form.fail("expires_on", "The expiry date must be today or later. To stop the link now, revoke it.")
    link_id = request.path_params["link_id"]
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request, sent=True)
        if form.ok:
            if not await actions.set_expiry(conn, invoice, link_id, expires_at):
                raise HTTPException(404)
            return done(request, invoice, "expiry", "#access")
    return await detail_page(request, invoice, status=422, expiry_form=form, expiry_link=link_id)


@console_view(role="billing")
async def link_revoke(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request, sent=True)
        if not await actions.revoke(conn, invoice, request.path_params["link_id"], by=current_staff(request).email):
            raise HTTPException(404)
    return done(request, invoice, "revoked", "#access")


@console_view(role="billing")
async def link_replace(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request, sent=True)
        await actions.new_link(conn, invoice, by=current_staff(request).email)
    return done(request, invoice, "new_link", "#access")


@console_view(role="billing")
async def access_settings(request: AppRequest) -> Response:
    form = Form.of(
        form_text(request), ("payments_enabled", "comments_enabled", "comment_mode", "comments_require_totp")
    )
    mode = form.choice("comment_mode", "comment mode", comment_modes.VALUES)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request, sent=True)
        if not form.ok:
            return await detail_page(request, invoice, status=422, access_form=form)
        await actions.set_access(
            conn, invoice, payments=form.checked("payments_enabled"), comments=form.checked("comments_enabled"),
            mode=mode, require_totp=form.checked("comments_require_totp"),
        )  # fmt: skip
    return done(request, invoice, "access", "#access")
