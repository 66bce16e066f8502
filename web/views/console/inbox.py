"""The support inbox (both roles): open threads newest first; a thread with the writers' verified addresses,
the reply form (e-mailed to the customer), the "handled" mark, and resetting a writer's authenticator app.

Live updates: each console page opens one event stream, /console/inbox/stream. It rings `inbox` for every change
to an invoice of the staff's workspace (a comment, or a teammate's "handled" mark), and with ?thread=<id> also
`thread` for that invoice. The page then fetches the same fragment its 5-second poll fetches without EventSource.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.inbox import (
    mark_thread_handled,
    select_invoice_workspace,
    select_open_threads,
)
from db.invoices import Invoice, select_invoice_in_workspace
from db.rows import Connection
from web.comments.posting import CLIENT_KEY, MAX_LENGTH, CommentRefused, post_staff_reply
from web.console import console_texts
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text
from web.console.pages import fragment_or_page, page
from web.console.scope import in_workspace
from web.console.threads import fresh_reply, mark_handled, reset_writer_totp, thread_context
from web.http.errors import DATABASE_ERRORS
from web.http.rendering import wants_fragment
from web.http.urls import parse_id, path_for, public_url
from web.invoices.links import live_link
from web.invoices.status import InvoiceStatus
from web.state import AppRequest
from web.streams import StreamHub

INBOX_LIMIT = 100
# A stream ends after this long and the browser reconnects through the guard: a session that ended (sign-out,
# expiry, disabled account) stops hearing doorbells within this time.
_STREAM_RECHECK_SECONDS = 600
# Said after a plain (no-JS) form's redirect; htmx answers carry the same text in the fragment.
_DONE = {
    "reply": "Your reply is posted and on its way to the customer by e-mail.",
    "handled": "Marked as handled: the thread leaves the inbox until the customer writes again.",
    "totp": "The authenticator app was reset: that writer sets it up again the next time they write.",
    "totp-none": "That writer had no authenticator app set up: there was nothing to reset.",
}
# Where a reply's e-mail points when no portal link of the invoice is live (revoked or expired).
_NO_LIVE_LINK = "ask us for a new link to this invoice"


@console_view()
async def inbox_show(request: AppRequest) -> Response:
    return page(request, "console/inbox.html", await _inbox_context(request))


@console_view()
async def inbox_list(request: AppRequest) -> Response:
    """The list alone: what the stream's doorbell and the poll fetch."""
    return fragment_or_page(request, "console/_inbox_list.html", "console/inbox.html", await _inbox_context(request))


async def _inbox_context(request: AppRequest) -> dict[str, Any]:
    async with request.state["pool"].acquire() as conn:
        threads = await select_open_threads(conn, current_staff(request).workspace_id, limit=INBOX_LIMIT)
    return {"threads": threads, "limit": INBOX_LIMIT}


@console_view()
async def inbox_stream(request: AppRequest) -> Response:
    """Doorbells only (invoice ids): `inbox` for the workspace's changes, `thread` for ?thread=<id>. Another
    workspace's changes are filtered out before anything is sent (web/streams.py)."""
    staff = current_staff(request)
    thread_text = request.query_params.get("thread", "")
    thread_id = parse_id(thread_text) or 0
    hub: StreamHub = request.state["streams"]
    pool: asyncpg.Pool = request.state["pool"]
    subscription = hub.open_workspace(staff.workspace_id)

    async def lookup(invoice_id: int) -> int | None:
        async with pool.acquire() as conn:
            return await select_invoice_workspace(conn, invoice_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        recheck = asyncio.get_running_loop().call_later(_STREAM_RECHECK_SECONDS, hub.hang_up, subscription)
        try:
            yield ServerSentEvent(event="ready", data="inbox", retry=2000)
            async for invoice_id in hub.workspace_changes(subscription, lookup):
                # None: the change feed reconnected and anything may have happened; every page refetches.
                data = "resync" if invoice_id is None else str(invoice_id)
                yield ServerSentEvent(event="inbox", data=data)
                if thread_id and invoice_id in (None, thread_id):
                    yield ServerSentEvent(event="thread", data=data)
        except DATABASE_ERRORS:
            return  # the database went away mid-lookup: end the stream, the browser reconnects and catches up
        finally:
            recheck.cancel()
            hub.close(subscription)

    return EventSourceResponse(events(), ping=15, send_timeout=10, headers={"X-Accel-Buffering": "no"})


@console_view()
async def thread_show(request: AppRequest) -> Response:
    invoice = await _thread_invoice(request)
    notice = _DONE.get(request.query_params.get("done", ""), "")
    return page(request, "console/thread.html", await _thread_context(request, invoice, notice=notice))


@console_view()
async def thread_comments(request: AppRequest) -> Response:
    """The live part of the thread page (comments, status, writers): what the doorbell and the poll fetch."""
    invoice = await _thread_invoice(request)
    context = await _thread_context(request, invoice)
    return fragment_or_page(request, "console/_thread.html", "console/thread.html", context)


@console_view()
async def thread_reply(request: AppRequest) -> Response:
    """Posted once per client key (a double submit finds the first reply), marked handled, mailed after the
    response. htmx gets a fresh form plus the thread out of band; a plain form is redirected back."""
    invoice = await _thread_invoice(request)
    staff = current_staff(request)
    posted = form_text(request)
    key = posted.get("client_key", "")
    reply = Form({"body": posted.get("body", "")[: MAX_LENGTH + 1000], "client_key": key[:64]})
    async with request.state["pool"].acquire() as conn:
        thread_url = await _thread_url(conn, request, invoice)
        try:
            async with conn.transaction():
                result = await post_staff_reply(
                    conn, invoice, author_name=staff.display_name, body=reply.values["body"], client_key=key,
                    thread_url=thread_url, letters=request.state["letters"],
                )  # fmt: skip
                await mark_thread_handled(conn, invoice.id, result.comment.id)
        except CommentRefused as refusal:
            reply.fail("body", console_texts(current_staff(request).formats).say(refusal.message))
    if not reply.ok:
        if not CLIENT_KEY.match(key):  # an out-of-date form: the kept text goes out with a usable key
            reply.values["client_key"] = secrets.token_urlsafe(18)
        return await _reply_response(request, invoice, reply, status=422)
    if wants_fragment(request):
        response = await _reply_response(request, invoice, fresh_reply(), notice=_DONE["reply"], oob=True)
    else:
        thread = path_for(request, "console_thread_show", invoice_id=invoice.id)
        response = RedirectResponse(f"{thread}?done=reply#comment-{result.comment.id}", status_code=303)
    response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], result.mail_ids)
    return response


@console_view()
async def thread_handled(request: AppRequest) -> Response:
    """Handled through the newest comment the page showed (`through`), never past what exists: a comment that
    arrived after the page was drawn keeps the thread open."""
    invoice = await _thread_invoice(request)
    async with request.state["pool"].acquire() as conn:
        await mark_handled(conn, invoice, shown=form_text(request).get("through", ""))
    return await _after_action(request, "handled")


@console_view()
async def thread_totp_reset(request: AppRequest) -> Response:
    """Only for an address that wrote in this thread: the thread is what makes it this team's business."""
    invoice = await _thread_invoice(request)
    email = form_text(request).get("email", "").strip().lower()[:320]
    async with request.state["pool"].acquire() as conn:
        deleted = await reset_writer_totp(conn, invoice, email, by=current_staff(request).email)
    if deleted is None:
        error = "Only the authenticator app of someone who wrote in this thread can be reset here."
        context = await _thread_context(request, invoice, error=error)
        return fragment_or_page(request, "console/_thread.html", "console/thread.html", context, status=422)
    done = "totp" if deleted else "totp-none"
    return await _after_action(request, done, notice=f"{email}: {_DONE[done]}")


async def _thread_invoice(request: AppRequest) -> Invoice:
    """Of the staff's workspace, and issued: a draft has no thread (404, like another workspace's invoice)."""
    async with request.state["pool"].acquire() as conn:
        invoice = await in_workspace(conn, request, select_invoice_in_workspace, request.path_params["invoice_id"])
    if invoice.status == InvoiceStatus.DRAFT:
        raise HTTPException(404)
    return invoice


async def _thread_context(request: AppRequest, invoice: Invoice, **extra: Any) -> dict[str, Any]:
    async with request.state["pool"].acquire() as conn:
        context = await thread_context(conn, invoice, request.state["clock"]())
    return {**context, "reply": fresh_reply(), "notice": "", "error": "", "oob": False, **extra}


async def _reply_response(
    request: AppRequest, invoice: Invoice, reply: Form, *, status: int = 200, notice: str = "", oob: bool = False
) -> Response:
    """htmx: the form (and, after a post, the thread out of band); without JavaScript: the whole page."""
    async with request.state["pool"].acquire() as conn:
        fresh = await select_invoice_in_workspace(conn, invoice.workspace_id, invoice.id)
    context = await _thread_context(request, fresh or invoice, reply=reply, reply_notice=notice, oob=oob)
    return fragment_or_page(request, "console/_thread_reply.html", "console/thread.html", context, status=status)


async def _after_action(request: AppRequest, done: str, *, notice: str = "") -> Response:
    """htmx: the thread's live part, re-read, with what happened; a plain form: back to the thread page."""
    invoice = await _thread_invoice(request)
    if not wants_fragment(request):
        thread = path_for(request, "console_thread_show", invoice_id=invoice.id)
        return RedirectResponse(f"{thread}?done={done}", status_code=303)
    context = await _thread_context(request, invoice, notice=notice or _DONE.get(done, ""))
    return page(request, "console/_thread.html", context)


async def _thread_url(conn: Connection, request: AppRequest, invoice: Invoice) -> str:
    link = await live_link(conn, invoice.id, request.state["clock"]())
    if link is None:
        return _NO_LIVE_LINK
    return public_url(request, "invoice_show", token=link.token) + "#comments"
