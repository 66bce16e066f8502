"""The embedded billing history: the frame's page (framed only by the workspace's allowed origins), the exchange of
the host's signed identity for a session token, and what the frame asks with that token in X-Embed-Token: the list,
an invoice to open, a PDF to download."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from db.embed import select_embed_settings
from db.history import select_history_invoice
from db.invoices import Invoice
from db.rows import Connection
from db.workspaces import Workspace
from web.comments.access import open_vouched_session
from web.embed.sessions import (
    HEADER,
    SESSION_TTL,
    NotAuthorised,
    SignedIdentity,
    embed_session_email,
    open_embed_session,
)
from web.history.listing import listing_context
from web.http.forms import read_body
from web.http.locale import reader_texts
from web.http.rendering import html_response, render_to_bytes
from web.http.security import with_frame_ancestors
from web.http.urls import path_for
from web.i18n.catalogs import Texts
from web.i18n.choice import LOCALE_PARAM
from web.invoices.links import live_or_new_link
from web.portal.workspace_path import workspace_in_path
from web.state import AppRequest

_MAX_BODY = 4096


async def embed_shell(request: AppRequest) -> Response:
    workspace = await workspace_in_path(request)
    async with request.state["pool"].acquire() as conn:
        settings = await select_embed_settings(conn, workspace.id)
    origins = settings.allowed_origins if settings is not None else []
    context = {
        "texts": embed_texts(request, workspace), "workspace": workspace, "origins": origins,
        "session_url": path_for(request, "embed_session", workspace=workspace.slug),
        "history_url": path_for(request, "embed_history", workspace=workspace.slug),
    }  # fmt: skip
    response = html_response(render_to_bytes(request, "embed/shell.html", context))
    response.headers["content-security-policy"] = with_frame_ancestors(request.state["csp"], origins)
    return response


async def embed_session(request: AppRequest) -> Response:
    """The host's signed identity (JSON) for a session token: 200 {token, expires_in} or 403, never saying why."""
    workspace = await workspace_in_path(request)
    try:
        body = json.loads(await read_body(request, _MAX_BODY) or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: thousands of nested brackets
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"error": "not_authorised"}, status_code=403)
    fields = {name: body.get(name) for name in ("email", "customer", "expires", "hash")}
    signed = SignedIdentity(**{name: str(value)[:400] if value is not None else "" for name, value in fields.items()})
    now = request.state["clock"]()
    try:
        async with request.state["pool"].acquire() as conn:
            token, expires_at = await open_embed_session(conn, request.state["secrets"], workspace.id, signed, now)
    except NotAuthorised:
        return JSONResponse({"error": "not_authorised"}, status_code=403)
    return JSONResponse({"token": token, "expires_in": int((expires_at - now).total_seconds())})


async def embed_history(request: AppRequest) -> Response:
    workspace, email = await _authorised(request)
    texts = embed_texts(request, workspace)
    today = request.state["clock"]().date()
    async with request.state["pool"].acquire() as conn:
        listing = await listing_context(conn, workspace.id, email, request.query_params, today)
    context = {"texts": texts, "workspace": workspace, "email": email, **listing}
    return html_response(render_to_bytes(request, "embed/_history.html", context))


async def embed_invoice_open(request: AppRequest) -> Response:
    """The invoice's own page in the frame (its live link, or a new one), with the way back to the list. The host
    vouched for the address, so the customer writes in the thread without a code: a writer session's token rides in
    the URL's fragment (never sent to a server, dropped from the address bar by the frame's script), which the page
    keeps in memory and sends in a header, as the frame can keep no cookie."""
    workspace, email = await _authorised(request)
    now = request.state["clock"]()
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await _history_invoice(conn, workspace, email, request.path_params["invoice_id"])
        link = await live_or_new_link(conn, invoice.id, now)
        writer = await open_vouched_session(conn, invoice, email=email, now=now, expires_at=now + SESSION_TTL)
    query = urlencode({"embed": workspace.slug, LOCALE_PARAM: embed_texts(request, workspace).code})
    page = path_for(request, "invoice_show", token=link.token) + "?" + query
    if writer is not None:
        page += f"#writer={writer}"
    return Response(status_code=204, headers={"HX-Redirect": page})


async def embed_invoice_pdf(request: AppRequest) -> Response:
    workspace, email = await _authorised(request)
    token = await _link_token(request, workspace, email)
    pdf = path_for(request, "invoice_pdf", token=token) + "?download=1"
    return Response(status_code=204, headers={"HX-Redirect": pdf})


async def embed_receipt_pdf(request: AppRequest) -> Response:
    workspace, email = await _authorised(request)
    token = await _link_token(request, workspace, email)
    pdf = path_for(request, "receipt_pdf", token=token, payment_id=request.path_params["payment_id"])
    return Response(status_code=204, headers={"HX-Redirect": pdf})


def embed_texts(request: AppRequest, workspace: Workspace) -> Texts:
    """The host's `locale` option (in the URL, then in the frame's header), else the browser's language, else the
    workspace's."""
    return reader_texts(request, workspace.default_locale)


async def _authorised(request: AppRequest) -> tuple[Workspace, str]:
    workspace = await workspace_in_path(request)
    async with request.state["pool"].acquire() as conn:
        email = await embed_session_email(conn, workspace.id, request.headers.get(HEADER), request.state["clock"]())
    if email is None:
        raise HTTPException(401, "Not authorised.")
    return workspace, email


async def _link_token(request: AppRequest, workspace: Workspace, email: str) -> str:
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await _history_invoice(conn, workspace, email, request.path_params["invoice_id"])
        link = await live_or_new_link(conn, invoice.id, request.state["clock"]())
    return link.token


async def _history_invoice(conn: Connection, workspace: Workspace, email: str, invoice_id: int) -> Invoice:
    invoice = await select_history_invoice(conn, workspace.id, email, invoice_id)
    if invoice is None:
        raise HTTPException(404)
    return invoice
