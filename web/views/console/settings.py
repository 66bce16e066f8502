"""Workspace settings (billing only): seller details and defaults, the logo, and a read-only view of the Stripe
connection (web/console/stripe_status.py)."""

from __future__ import annotations

from dataclasses import asdict

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.logos import select_workspace_logo_sha, set_workspace_logo
from db.stripe_status import select_last_webhook
from db.wording import forget_rendered
from db.workspaces import Workspace, select_workspace, update_workspace_settings
from web.console import settings_form
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text, posted_form
from web.console.pages import page
from web.console.scope import in_workspace
from web.console.stripe_status import stripe_checks
from web.http.urls import path_for, public_url
from web.invoices.logos import MAX_BYTES, LogoError, save_workspace_logo, validate_upload
from web.state import AppRequest

# Room for the largest accepted logo plus the multipart framing; a bigger body is refused (413) before it is read.
LOGO_MAX_BODY = 1024 * 1024
_NOTICES = {"settings": "Saved.", "logo": "Logo saved.", "logo-removed": "Logo removed."}


@console_view(role="billing")
async def settings_show(request: AppRequest) -> Response:
    workspace = await _workspace(request)
    return await _settings_page(request, workspace, settings_form.form_for(workspace))


@console_view(role="billing")
async def settings_update(request: AppRequest) -> Response:
    form, values = settings_form.check(form_text(request))
    if values is None:
        return await _settings_page(request, await _workspace(request), form, status=422)
    workspace_id = current_staff(request).workspace_id
    async with request.state["pool"].acquire() as conn, conn.transaction():
        before = await select_workspace(conn, workspace_id)
        updated = await update_workspace_settings(conn, workspace_id, **asdict(values))
        if updated is None or before is None:
            raise HTTPException(404)
        if before.default_locale != updated.default_locale:
            # Pages and PDFs of invoices whose own language has no catalog are in this one.
            await forget_rendered(conn, workspace_id)
    return _saved(request, "settings")


@console_view(role="billing", max_body=LOGO_MAX_BODY)
async def settings_logo_upload(request: AppRequest) -> Response:
    try:
        logo = await validate_upload(posted_form(request).get("logo"))
    except LogoError as refused:
        workspace = await _workspace(request)
        return await _settings_page(
            request, workspace, settings_form.form_for(workspace), status=422, logo_error=refused.message
        )
    async with request.state["pool"].acquire() as conn:
        await save_workspace_logo(conn, current_staff(request).workspace_id, logo)
    return _saved(request, "logo")


@console_view(role="billing")
async def settings_logo_remove(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn:
        await set_workspace_logo(conn, current_staff(request).workspace_id, None)
    return _saved(request, "logo-removed")


def _saved(request: AppRequest, what: str) -> Response:
    return RedirectResponse(path_for(request, "console_settings_show") + f"?saved={what}", status_code=303)


async def _workspace(request: AppRequest) -> Workspace:
    async with request.state["pool"].acquire() as conn:
        return await in_workspace(conn, request, select_workspace)


async def _settings_page(
    request: AppRequest, workspace: Workspace, form: Form, *, status: int = 200, logo_error: str = ""
) -> Response:
    async with request.state["pool"].acquire() as conn:
        logo_sha = await select_workspace_logo_sha(conn, workspace.id)
        last_webhook = await select_last_webhook(conn)
    context = {
        "workspace": workspace, "form": form, **settings_form.choices(), "logo_sha": logo_sha,
        "logo_error": logo_error, "logo_limit_kb": MAX_BYTES // 1024,
        "notice": _NOTICES.get(request.query_params.get("saved", "")) if status == 200 else None,
        "stripe_checks": stripe_checks(request.state["settings"], last_webhook),
        "webhook_url": public_url(request, "stripe_webhook"),
    }  # fmt: skip
    return page(request, "console/settings.html", context, status=status)
