"""Workspace settings (billing only): seller details and defaults, the logo, and the workspace's Stripe account:
connect with pasted keys, disconnect, and what Stripe reports about it (web/console/stripe_connect.py,
web/console/stripe_status.py)."""

from __future__ import annotations

from dataclasses import asdict

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.logos import select_workspace_logo_sha, set_workspace_logo
from db.stripe_connections import set_connection_setting
from db.stripe_invoices import select_latest_sync
from db.wording import forget_rendered
from db.workspaces import Workspace, select_workspace, update_workspace_settings
from web.console import settings_form
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text, posted_form
from web.console.pages import page
from web.console.scope import in_workspace
from web.console.stripe_connect import PUBLISHABLE_KEY, ConnectRefused, check_keys, connect, disconnect
from web.console.stripe_status import stripe_section, with_endpoint_state
from web.http.urls import path_for, public_url
from web.invoices.logos import MAX_BYTES, LogoError, save_workspace_logo, validate_upload
from web.state import AppRequest
from web.stripe_sync.reconcile import start_sync

# Room for the largest accepted logo plus the multipart framing; a bigger body is refused (413) before it is read.
LOGO_MAX_BODY = 1024 * 1024
_NOTICES = {
    "settings": "Saved.",
    "logo": "Logo saved.",
    "logo-removed": "Logo removed.",
    "stripe-connected": "Stripe is connected. Customers can pay this workspace's invoices by card with this account.",
    "stripe-disconnected": "Stripe is disconnected. Customers can no longer pay this workspace's invoices by card; "
    "its webhook endpoint was removed from the Stripe account.",
    "stripe-not-connected": "No Stripe account was connected: nothing changed.",
    "stripe-sync": "The sync of your Stripe invoices has started; its progress shows below.",
    "stripe-issue-on": "Invoices you send from now on are also issued in your Stripe account.",
    "stripe-issue-off": "Invoices you send from now on are issued in the portal only. Those already in Stripe stay "
    "there and keep following the portal.",
    "stripe-portal-on": "Customers with a Stripe customer id now find Manage cards and subscriptions in their billing "
    "history.",
    "stripe-portal-off": "The billing history no longer offers Stripe's customer portal.",
    "stripe-disconnected-endpoint-left": "Stripe is disconnected. Customers can no longer pay this workspace's "
    "invoices by card. The webhook endpoint could not be removed at Stripe just now: delete it in Stripe's "
    "Dashboard (Developers → Webhooks).",
}


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


@console_view(role="billing")
async def stripe_connect(request: AppRequest) -> Response:
    posted = form_text(request)
    publishable = posted.get("publishable_key", "")[:300]
    # Sent back into the form after a refusal only when it looks like a publishable key: a secret key pasted into
    # the wrong field must not come back in the page.
    shown_publishable = publishable if PUBLISHABLE_KEY.match(publishable.strip()) else ""
    workspace_id = current_staff(request).workspace_id
    try:
        keys = check_keys(posted.get("secret_key", ""), publishable)
        await connect(
            request.state["pool"], request.state["stripe"], request.state["secrets"], workspace_id=workspace_id,
            keys=keys, webhook_url=public_url(request, "stripe_workspace_webhook", workspace=workspace_id),
            staff_email=current_staff(request).email,
        )  # fmt: skip
    except ConnectRefused as refused:
        workspace = await _workspace(request)
        # The secret key is never sent back to the browser, not even the one just typed.
        stripe_form = {"error": refused.message, "field": refused.field, "publishable_key": shown_publishable}
        return await _settings_page(
            request, workspace, settings_form.form_for(workspace), status=refused.status, stripe_form=stripe_form
        )
    return _saved(request, "stripe-connected")


@console_view(role="billing")
async def stripe_disconnect(request: AppRequest) -> Response:
    workspace_id = current_staff(request).workspace_id
    try:
        gone = await disconnect(request.state["pool"], request.state["stripe"], request.state["secrets"], workspace_id)
    except ConnectRefused as refused:
        workspace = await _workspace(request)
        form = settings_form.form_for(workspace)
        return await _settings_page(
            request, workspace, form, status=refused.status, stripe_form={"error": refused.message}
        )
    if gone is None:
        return _saved(request, "stripe-not-connected")
    if not gone.endpoint_removed:
        return _saved(request, "stripe-disconnected-endpoint-left")
    return _saved(request, "stripe-disconnected")


@console_view(role="billing")
async def stripe_sync(request: AppRequest) -> Response:
    """Sync now: the workspace's Stripe invoices copied in the background; the page follows its progress."""
    async with request.state["pool"].acquire() as conn:
        account = await request.state["stripe"].own(conn, current_staff(request).workspace_id)
    if account is None:
        raise HTTPException(409, "Connect Stripe first: only a workspace's own account has invoices to sync.")
    start_sync(request.state["pool"], account)
    return _saved(request, "stripe-sync")


@console_view(role="billing")
async def stripe_issue_invoices(request: AppRequest) -> Response:
    """The setting *Also issue invoices in Stripe*."""
    return await _connection_setting(
        request, "issue_invoices", "Connect Stripe first: invoices are issued in the workspace's own account."
    )


@console_view(role="billing")
async def stripe_customer_portal(request: AppRequest) -> Response:
    """The setting *Offer Stripe's customer portal* in the billing history."""
    return await _connection_setting(
        request, "customer_portal", "Connect Stripe first: the customer portal is your Stripe account's."
    )


async def _connection_setting(request: AppRequest, name: str, not_connected: str) -> Response:
    """A checkbox of the connected account's own settings; 409 without one (it means nothing then)."""
    on = form_text(request).get(name) == "on"
    async with request.state["pool"].acquire() as conn:
        if not await set_connection_setting(conn, current_staff(request).workspace_id, name, on):
            raise HTTPException(409, not_connected)
    short = {"issue_invoices": "issue", "customer_portal": "portal"}[name]
    return _saved(request, f"stripe-{short}-{'on' if on else 'off'}")


@console_view(role="billing")
async def stripe_sync_status(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn:
        sync = await select_latest_sync(conn, current_staff(request).workspace_id)
    return page(request, "console/_stripe_sync.html", {"sync": sync})


def _saved(request: AppRequest, what: str) -> Response:
    return RedirectResponse(path_for(request, "console_settings_show") + f"?saved={what}", status_code=303)


async def _workspace(request: AppRequest) -> Workspace:
    async with request.state["pool"].acquire() as conn:
        return await in_workspace(conn, request, select_workspace)


async def _settings_page(
    request: AppRequest,
    workspace: Workspace,
    form: Form,
    *,
    status: int = 200,
    logo_error: str = "",
    stripe_form: dict[str, str] | None = None,
) -> Response:
    state = request.state
    async with state["pool"].acquire() as conn:
        logo_sha = await select_workspace_logo_sha(conn, workspace.id)
        stripe = await stripe_section(conn, state["stripe"], state["settings"], workspace.id)
        sync = await select_latest_sync(conn, workspace.id)
    stripe = await with_endpoint_state(stripe, state["stripe"], state["secrets"])
    context = {
        "workspace": workspace, "form": form, **settings_form.choices(), "logo_sha": logo_sha,
        "logo_error": logo_error, "logo_limit_kb": MAX_BYTES // 1024,
        "notice": _NOTICES.get(request.query_params.get("saved", "")) if status == 200 else None,
        "stripe": stripe, "stripe_form": stripe_form or {}, "sync": sync,
        "webhook_url": public_url(request, "stripe_webhook"),
    }  # fmt: skip
    return page(request, "console/settings.html", context, status=status)
