"""The comment thread: its tail (the fragment both the SSE doorbell and the polling fallback fetch), the event
stream, and the writer's steps (ask for a code, give it, TOTP, post, forget me)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db.comment_access import CommentSession
from db.comments import Comment
from web.comments.access import (
    CODE_SENT,
    SESSION_TTL,
    AccessError,
    end_session,
    find_session,
    needs_totp,
    request_code,
    verify_code,
    verify_totp,
)
from web.comments.form import SESSION_COOKIE, CommentForm, form_for
from web.comments.posting import CommentRefused, post_comment
from web.http.forms import client_address, read_form
from web.http.rendering import html_response, render_to_bytes, wants_fragment
from web.invoices.documents import InvoiceDocument
from web.streams import StreamHub
from web.views.portal import cached_page, find_document, portal_context, thread_context

# A comment is at most 5,000 characters; URL-encoded UTF-8 can take 12 bytes for one of them.
_MAX_FORM_BYTES = 64 * 1024


async def comments_tail(request: Request) -> Response:
    """New comments after ?after=<id> (204 when none), appended out of band, plus a tail that asks from there."""
    after_text = request.query_params.get("after", "0")
    if not (after_text.isascii() and after_text.isdigit() and len(after_text) <= 18):
        raise HTTPException(status_code=400, detail="after must be a comment number")
    stamp = request.state.portal_cache.feed.stamp()
    document = await _commentable(request)
    if not wants_fragment(request):
        return RedirectResponse(f"/i/{request.path_params['token']}#comments", status_code=303)
    after = int(after_text)
    body = await cached_page(
        request, stamp, document, f"tail:{after}", True, "portal/_comments_tail_update.html",
        lambda: thread_context(request, document, after=after),
    )  # fmt: skip
    if not body:  # the template renders nothing when no comment came after `after`
        return Response(status_code=204, headers={"Vary": "HX-Request"})
    return html_response(body)


async def comments_stream(request: Request) -> Response:
    """Doorbells for this invoice: `comment` (new comment id) and `invoice` (anything else changed). Served
    whether or not the thread is shown: the summary's `invoice` doorbell comes through it too."""
    document = await find_document(request)
    hub: StreamHub = request.state.streams
    subscription = hub.open(document.invoice.id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            # Tells the browser how soon to come back after a drop; the page catches up when it does.
            yield ServerSentEvent(event="ready", data=str(document.invoice.id), retry=2000)
            while True:
                bell = await subscription.queue.get()
                if bell is None:
                    return  # dropped as too slow, or the server is shutting down
                yield ServerSentEvent(event=bell.event, data=bell.data)
        finally:
            hub.close(subscription)

    return EventSourceResponse(events(), ping=15, send_timeout=10, headers={"X-Accel-Buffering": "no"})


async def comment_code_request(request: Request) -> Response:
    document = await _commentable(request)
    return await _ask_for_code(request, document, await read_form(request, _MAX_FORM_BYTES))


async def _ask_for_code(request: Request, document: InvoiceDocument, form: dict[str, str]) -> Response:
    kept = _kept(form)
    try:
        async with request.state.pool.acquire() as conn:
            mail_ids = await request_code(
                conn, document.invoice, name=form.get("name", ""), email=form.get("email", ""),
                client=client_address(request), now=request.state.clock(),
            )  # fmt: skip
    except AccessError as refusal:
        return await _form_response(request, document, None, 422, **kept, error=str(refusal))
    response = await _form_response(request, document, None, 200, **kept, step="code", notice=CODE_SENT)
    response.background = BackgroundTask(request.state.mailer.deliver, request.state.pool, mail_ids)
    return response


async def comment_code_verify(request: Request) -> Response:
    document = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    if form.get("action") == "resend":
        return await _ask_for_code(request, document, form)
    kept = _kept(form)
    try:
        async with request.state.pool.acquire() as conn:
            token, session = await verify_code(
                conn, document.invoice, email=form.get("email", ""), code=form.get("code", ""),
                now=request.state.clock(),
            )  # fmt: skip
    except AccessError as refusal:
        return await _form_response(request, document, None, 422, **kept, step="code", error=str(refusal))
    response = await _form_response(request, document, session, 200, body=kept["body"])
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), path=_cookie_path(request),
        httponly=True, secure=request.url.scheme == "https", samesite="lax",
    )  # fmt: skip
    return response


async def comment_totp_verify(request: Request) -> Response:
    document = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    kept = _kept(form)
    writer = await _writer(request, document)
    if writer is None:
        return await _form_response(request, document, None, 422, **kept, error=_NOT_VERIFIED)
    try:
        async with request.state.pool.acquire() as conn:
            await verify_totp(conn, document.invoice, writer, code=form.get("code", ""), now=request.state.clock())
    except AccessError as refusal:
        return await _form_response(
            request, document, await _writer(request, document), 422, **kept, error=str(refusal)
        )
    return await _form_response(request, document, await _writer(request, document), 200, body=kept["body"])


async def comment_create(request: Request) -> Response:
    document = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    kept = _kept(form)
    writer = await _writer(request, document)
    if writer is None or needs_totp(document.invoice, writer):
        return await _form_response(request, document, writer, 422, **kept, error=_NOT_VERIFIED)
    token = request.path_params["token"]
    try:
        async with request.state.pool.acquire() as conn:
            posted = await post_comment(
                conn, document.invoice, writer, body=form.get("body", ""), client_key=form.get("client_key", ""),
                thread_url=f"{request.state.settings.public_origin}/i/{token}#comments",
            )  # fmt: skip
    except CommentRefused as refusal:
        return await _form_response(request, document, writer, 422, **kept, error=str(refusal))
    if not wants_fragment(request):
        response: Response = RedirectResponse(f"/i/{token}#comment-{posted.comment.id}", status_code=303)
    else:
        response = await _form_response(request, document, writer, 200, posted=[posted.comment])
    response.background = BackgroundTask(request.state.mailer.deliver, request.state.pool, posted.mail_ids)
    return response


async def comment_forget(request: Request) -> Response:
    """End this device's writer session; the page's script clears the remembered name, address and draft."""
    document = await _commentable(request)
    await read_form(request, _MAX_FORM_BYTES)
    async with request.state.pool.acquire() as conn:
        await end_session(conn, document.invoice, request.cookies.get(SESSION_COOKIE), request.state.clock())
    response = await _form_response(request, document, None, 200, notice="This device no longer remembers you.")
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request), httponly=True, samesite="lax")
    return response


_NOT_VERIFIED = "Please confirm your e-mail address before you post. Your text is kept."


async def _commentable(request: Request) -> InvoiceDocument:
    document = await find_document(request)
    if not document.invoice.comments_enabled:
        raise HTTPException(status_code=404)
    return document


async def _writer(request: Request, document: InvoiceDocument) -> CommentSession | None:
    async with request.state.pool.acquire() as conn:
        return await find_session(conn, document.invoice, request.cookies.get(SESSION_COOKIE), request.state.clock())


def _kept(form: dict[str, str]) -> dict[str, str]:
    """What the person typed, given back in the form (clipped: a form never echoes megabytes)."""
    return {
        "name": form.get("name", "")[:200],
        "email": form.get("email", "")[:320],
        "body": form.get("body", "")[:6000],
    }


def _cookie_path(request: Request) -> str:
    return f"/i/{request.path_params['token']}"


async def _form_response(
    request: Request,
    document: InvoiceDocument,
    writer: CommentSession | None,
    status: int,
    posted: list[Comment] | None = None,
    **values: str,
) -> Response:
    """The form alone for htmx (plus the posted comment out of band); the whole page without JavaScript."""
    async with request.state.pool.acquire() as conn:
        form: CommentForm = await form_for(conn, document.invoice, writer, **values)
    if wants_fragment(request):
        context = {**portal_context(request, document), "comment_form": form, "posted": posted or []}
        return html_response(render_to_bytes(request, "portal/_comment_form_update.html", context), status)
    context = {**portal_context(request, document), **await thread_context(request, document, form)}
    return html_response(render_to_bytes(request, "portal/show.html", context), status)
