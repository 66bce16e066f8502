"""The comment thread: its tail (the fragment both the SSE doorbell and the polling fallback fetch), the event
stream, and the writer's steps (ask for a code, give it, TOTP, post, forget me)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Unpack

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
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
from web.comments.form import SESSION_COOKIE, SESSION_HEADER, CommentForm, FormValues, TypedText, form_for
from web.comments.posting import CommentRefused, post_comment
from web.http.errors import RefusedRequest
from web.http.forms import client_address, read_form
from web.http.rendering import html_response, no_content, render_to_bytes, wants_fragment
from web.http.urls import parse_id, public_url
from web.i18n.message import msg
from web.mail import MAIL_DOWN, MailUndeliverable
from web.portal.pages import cached_page, portal_context, thread_context, viewer_texts
from web.portal.viewer import LinkHolder, link_holder
from web.state import AppRequest
from web.streams import StreamHub

# A comment is at most 5,000 characters; URL-encoded UTF-8 can take 12 bytes for one of them.
_MAX_FORM_BYTES = 64 * 1024


async def comments_tail(request: AppRequest) -> Response:
    """New comments after ?after=<id> (204 when none), appended out of band, plus a tail that asks from there."""
    after = parse_id(request.query_params.get("after", "0"))
    if after is None:
        raise RefusedRequest(400, msg("The “after” parameter must be a comment number."))
    viewer = await _commentable(request)
    if not wants_fragment(request):
        return RedirectResponse(viewer.path(request, "invoice_show") + "#comments", status_code=303)
    body = await cached_page(
        request, viewer, f"tail:{after}", True, "portal/_comments_tail_update.html",
        lambda: thread_context(request, viewer, after=after),
    )  # fmt: skip
    if not body:  # the template renders nothing when no comment came after `after`
        return no_content()
    return html_response(body)


async def comments_stream(request: AppRequest) -> Response:
    """Doorbells for this invoice: `comment` (new comment id) and `invoice` (anything else changed). Served
    whether or not the thread is shown: the summary's `invoice` doorbell comes through it too."""
    viewer = await link_holder(request)
    hub: StreamHub = request.state["streams"]
    subscription = hub.open(viewer.invoice.id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            # Tells the browser how soon to come back after a drop; the page catches up when it does.
            yield ServerSentEvent(event="ready", data=str(viewer.invoice.id), retry=2000)
            while True:
                bell = await subscription.queue.get()
                if bell is None:
                    return  # dropped as too slow, or the server is shutting down
                yield ServerSentEvent(event=bell.event, data=bell.data)
        finally:
            hub.close(subscription)

    return EventSourceResponse(events(), ping=15, send_timeout=10, headers={"X-Accel-Buffering": "no"})


async def comment_form(request: AppRequest) -> Response:
    """The reader's own form (the embedded page asks for it once it holds a writer token; see comment_writer_token)."""
    viewer = await _commentable(request)
    return await _form_response(request, viewer, await _writer(request, viewer), 200)


async def comment_code_request(request: AppRequest) -> Response:
    viewer = await _commentable(request)
    return await _ask_for_code(request, viewer, await read_form(request, _MAX_FORM_BYTES))


async def _ask_for_code(request: AppRequest, viewer: LinkHolder, form: dict[str, str]) -> Response:
    kept = _kept(form)
    try:
        async with request.state["pool"].acquire() as conn:
            await request_code(
                conn, viewer.invoice, name=form.get("name", ""), email=form.get("email", ""),
                client=client_address(request), now=request.state["clock"](), mailer=request.state["mailer"],
                letters=request.state["letters"], texts=viewer_texts(request, viewer),
            )  # fmt: skip
    except AccessError as refusal:
        return await _form_response(request, viewer, None, 422, **kept, error=refusal.message)
    except MailUndeliverable:
        return await _form_response(request, viewer, None, 503, **kept, error=MAIL_DOWN)
    return await _form_response(request, viewer, None, 200, **kept, step="code", notice=CODE_SENT)


async def comment_code_verify(request: AppRequest) -> Response:
    viewer = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    if form.get("action") == "resend":
        return await _ask_for_code(request, viewer, form)
    kept = _kept(form)
    try:
        async with request.state["pool"].acquire() as conn:
            token, session = await verify_code(
                conn, viewer.invoice, email=form.get("email", ""), code=form.get("code", ""),
                now=request.state["clock"](),
            )  # fmt: skip
    except AccessError as refusal:
        return await _form_response(request, viewer, None, 422, **kept, step="code", error=refusal.message)
    response = await _form_response(request, viewer, session, 200, body=kept["body"])
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), path=_cookie_path(request, viewer),
        httponly=True, secure=request.url.scheme == "https", samesite="lax",
    )  # fmt: skip
    return response


async def comment_totp_verify(request: AppRequest) -> Response:
    viewer = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    kept = _kept(form)
    writer = await _writer(request, viewer)
    if writer is None:
        return await _form_response(request, viewer, None, 422, **kept, error=_NOT_VERIFIED)
    try:
        async with request.state["pool"].acquire() as conn:
            await verify_totp(
                conn, viewer.invoice, writer, code=form.get("code", ""), now=request.state["clock"](),
                box=request.state["secrets"],
            )  # fmt: skip
    except AccessError as refusal:
        return await _form_response(request, viewer, await _writer(request, viewer), 422, **kept, error=refusal.message)
    return await _form_response(request, viewer, await _writer(request, viewer), 200, body=kept["body"])


async def comment_create(request: AppRequest) -> Response:
    viewer = await _commentable(request)
    form = await read_form(request, _MAX_FORM_BYTES)
    kept = _kept(form)
    writer = await _writer(request, viewer)
    if writer is None or needs_totp(viewer.invoice, writer):
        return await _form_response(request, viewer, writer, 422, **kept, error=_NOT_VERIFIED)
    try:
        async with request.state["pool"].acquire() as conn:
            posted = await post_comment(
                conn, viewer.invoice, writer, body=form.get("body", ""), client_key=form.get("client_key", ""),
                thread_url=public_url(request, "invoice_show", token=viewer.token) + "#comments",
                letters=request.state["letters"],
            )  # fmt: skip
    except CommentRefused as refusal:
        return await _form_response(request, viewer, writer, 422, **kept, error=refusal.message)
    if not wants_fragment(request):
        anchor = f"#comment-{posted.comment.id}"
        response: Response = RedirectResponse(viewer.path(request, "invoice_show") + anchor, status_code=303)
    else:
        response = await _form_response(request, viewer, writer, 200, posted=[posted.comment])
    response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], posted.mail_ids)
    return response


async def comment_forget(request: AppRequest) -> Response:
    """End this device's writer session; the page's script clears the remembered name, address and draft."""
    viewer = await _commentable(request)
    await read_form(request, _MAX_FORM_BYTES)
    async with request.state["pool"].acquire() as conn:
        await end_session(conn, viewer.invoice, comment_writer_token(request), request.state["clock"]())
    response = await _form_response(request, viewer, None, 200, notice=msg("This device no longer remembers you."))
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request, viewer), httponly=True, samesite="lax")
    return response


_NOT_VERIFIED = msg("Please confirm your e-mail address before you post. Your text is kept.")


async def _commentable(request: AppRequest) -> LinkHolder:
    viewer = await link_holder(request)
    if not viewer.invoice.comments_enabled:
        raise HTTPException(status_code=404)
    return viewer


async def _writer(request: AppRequest, viewer: LinkHolder) -> CommentSession | None:
    async with request.state["pool"].acquire() as conn:
        return await find_session(conn, viewer.invoice, comment_writer_token(request), request.state["clock"]())


def comment_writer_token(request: AppRequest) -> str | None:
    """The writer session's token: the cookie of a confirmed address, else the header an embedded page sends."""
    return request.cookies.get(SESSION_COOKIE) or request.headers.get(SESSION_HEADER)


def _kept(form: dict[str, str]) -> TypedText:
    """What the person typed, given back in the form (clipped: a form never echoes megabytes)."""
    return {
        "name": form.get("name", "")[:200],
        "email": form.get("email", "")[:320],
        "body": form.get("body", "")[:6000],
    }


def _cookie_path(request: AppRequest, viewer: LinkHolder) -> str:
    """The writer's cookie goes to this invoice's own pages only."""
    return viewer.path(request, "invoice_show")


async def _form_response(
    request: AppRequest,
    viewer: LinkHolder,
    writer: CommentSession | None,
    status: int,
    posted: list[Comment] | None = None,
    **values: Unpack[FormValues],
) -> Response:
    """The form alone for htmx (plus the posted comment out of band); the whole page without JavaScript."""
    async with request.state["pool"].acquire() as conn:
        form: CommentForm = await form_for(conn, viewer.invoice, writer, request.state["secrets"], **values)
    if wants_fragment(request):
        context = {**portal_context(request, viewer), "comment_form": form, "posted": posted or []}
        return html_response(render_to_bytes(request, "portal/_comment_form_update.html", context), status)
    context = {**portal_context(request, viewer), **await thread_context(request, viewer, form)}
    return html_response(render_to_bytes(request, "portal/show.html", context), status)
