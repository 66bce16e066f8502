"""Workspace settings (billing only): seller details and defaults, the logo, and a read-only view of the Stripe
connection that says, in plain words, what does not work while a piece is missing."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.logos import select_workspace_logo_sha, set_workspace_logo
from db.stripe_status import select_last_webhook
from db.workspaces import Workspace, select_workspace, update_workspace_settings
from web.console import settings_form
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text, posted_form
from web.console.pages import page
from web.console.scope import in_workspace
from web.http.urls import path_for, public_url
from web.invoices.logos import MAX_BYTES, LogoError, save_workspace_logo, validate_upload
from web.settings import Settings
from web.state import AppRequest

# Room for the largest accepted logo plus the multipart framing; a bigger body is refused (413) before it is read.
LOGO_MAX_BODY = 1024 * 1024
_NOTICES = {"settings": "Saved.", "logo": "Logo saved.", "logo-removed": "Logo removed."}
_KEY = re.compile(r"^(?:sk|rk|pk)_(test|live)_")


@dataclass(frozen=True, slots=True)
class StripeCheck:
    label: str
    present: bool
    detail: str  # what is configured (never a secret), or the consequence of it missing


@console_view(role="billing")
async def settings_show(request: AppRequest) -> Response:
    workspace = await _workspace(request)
    return await _settings_page(request, workspace, settings_form.form_for(workspace))


@console_view(role="billing")
async def settings_update(request: AppRequest) -> Response:
    form, values = settings_form.check(form_text(request))
    if values is None:
        return await _settings_page(request, await _workspace(request), form, status=422)
    async with request.state["pool"].acquire() as conn:
        updated = await update_workspace_settings(conn, current_staff(request).workspace_id, **asdict(values))
    if updated is None:
        raise HTTPException(404)
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


def stripe_checks(settings: Settings, last_webhook: tuple[str, datetime] | None) -> list[StripeCheck]:
    """Keys come from the server's environment, so the page only reports them: the mode and last four
    characters, enough to tell keys apart, never enough to use one."""
    secret, public = settings.stripe_secret_key, settings.stripe_publishable_key
    checks = [
        StripeCheck(
            "Secret key", bool(secret),
            _key_hint(secret) if secret else "Missing (STRIPE_SECRET_KEY). The portal cannot create payments at "
            "Stripe, so customers are offered no card payment, only the bank transfer instructions.",
        ),
        StripeCheck(
            "Publishable key", bool(public),
            _key_hint(public) if public else "Missing (STRIPE_PUBLISHABLE_KEY). The customer's browser cannot load "
            "Stripe's card form, so customers are offered no card payment, only the bank transfer instructions.",
        ),
        StripeCheck(
            "Webhook signing secret", bool(settings.stripe_webhook_secret),
            "Set." if settings.stripe_webhook_secret else "Missing (STRIPE_WEBHOOK_SECRET). Stripe's payment "
            "notifications cannot be verified and are refused, and only they mark a payment as succeeded: card "
            "payments stay “processing” and invoices are never marked paid.",
        ),
    ]  # fmt: skip
    modes = {_KEY.match(key).group(1) for key in (secret, public) if _KEY.match(key)}  # type: ignore[union-attr]
    if len(modes) > 1:
        checks.append(
            StripeCheck("Key modes", False, "One key is for test mode and the other for live mode: Stripe refuses "
                        "every payment until both come from the same mode.")
        )  # fmt: skip
    if last_webhook is None:
        checks.append(
            StripeCheck("Last webhook received", False, "None yet. If customers have paid by card, check in Stripe's "
                        "dashboard that events are sent to the endpoint below.")
        )  # fmt: skip
    else:
        kind, received = last_webhook
        when = received.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        checks.append(StripeCheck("Last webhook received", True, f"{kind}, {when}"))
    return checks


def _key_hint(key: str) -> str:
    match = _KEY.match(key)
    if match is None:
        return "Set, but not in a format Stripe issues (sk_… or pk_…): check the value."
    mode = "test mode" if match.group(1) == "test" else "live mode"
    # The last four only when the rest stays long: a short test key would be half revealed.
    tail = key[-4:] if len(key) >= len(match.group(0)) + 16 else ""
    return f"{match.group(0)}…{tail} ({mode})"
