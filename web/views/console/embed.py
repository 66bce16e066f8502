"""Settings → Embed (billing only): the embed secret (shown once, when made or rotated), the origins allowed to
frame the billing history, and the code to paste into the host app."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from db.embed import EmbedSettings, rotate_embed_secret, save_allowed_origins, select_embed_settings
from db.workspaces import select_workspace
from web.console.guard import console_view, current_staff, form_text
from web.console.pages import page
from web.embed.origins import OriginRefused, parse_origins
from web.embed.signing import GRACE, new_secret
from web.embed.snippets import host_snippet, server_snippets
from web.http.urls import path_for
from web.state import AppRequest

_NOTICES = {"origins": "Allowed origins saved."}


@console_view(role="billing")
async def embed_show(request: AppRequest) -> Response:
    return await _page(request, notice=_NOTICES.get(request.query_params.get("saved", ""), ""))


@console_view(role="billing")
async def embed_secret_rotate(request: AppRequest) -> Response:
    """A new secret, shown in this answer only (never again: the page afterwards shows its last four)."""
    staff = current_staff(request)
    secret = new_secret()
    now = request.state["clock"]()
    async with request.state["pool"].acquire() as conn:
        await rotate_embed_secret(
            conn, staff.workspace_id, sealed=request.state["secrets"].seal(secret), last4=secret[-4:], now=now,
            grace_until=now + GRACE, by=staff.email,
        )  # fmt: skip
    return await _page(request, new_secret=secret)


@console_view(role="billing")
async def embed_origins_save(request: AppRequest) -> Response:
    text = form_text(request).get("origins", "")[:5000]
    try:
        origins = parse_origins(text)
    except OriginRefused as refused:
        return await _page(request, status=422, origins_text=text, origins_error=str(refused))
    async with request.state["pool"].acquire() as conn:
        await save_allowed_origins(conn, current_staff(request).workspace_id, origins)
    return RedirectResponse(path_for(request, "console_embed_show") + "?saved=origins", status_code=303)


async def _page(
    request: AppRequest,
    *,
    status: int = 200,
    new_secret: str = "",
    notice: str = "",
    origins_text: str | None = None,
    origins_error: str = "",
) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        settings = await select_embed_settings(conn, staff.workspace_id)
        workspace = await select_workspace(conn, staff.workspace_id)
    assert workspace is not None  # the signed-in teammate's own
    origin = request.state["settings"].public_origin
    saved_origins = "\n".join(settings.allowed_origins) if settings else ""
    context = {
        "embed": settings or EmbedSettings(staff.workspace_id, None, "", None, None, [], None, ""),
        "new_secret": new_secret, "notice": notice, "origins_error": origins_error,
        "origins_text": saved_origins if origins_text is None else origins_text,
        "host_snippet": host_snippet(origin, workspace.slug), "server_snippets": server_snippets(),
        "now": request.state["clock"](),
    }  # fmt: skip
    return page(request, "console/embed.html", context, status=status)
