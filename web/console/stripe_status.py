"""What the settings page says about Stripe: the workspace's own connection (the account, the key's kind, mode and
last four, never the key; the webhook endpoint as Stripe reports it; the last event received), or the deployment's
account that serves it meanwhile (which keys are present, and in plain words what does not work while one is
missing)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from db.rows import Connection
from db.stripe_connections import StripeConnection, select_last_webhook, select_workspace_card_account
from web.secret_box import SecretBox
from web.settings import Settings
from web.stripe.accounts import StripeAccounts
from web.stripe.gateway import PaymentRefused, ProviderUnavailable

_KEY = re.compile(r"^(?:sk|rk|pk)_(test|live)_")


@dataclass(frozen=True, slots=True)
class StripeCheck:
    label: str
    present: bool
    detail: str  # what is configured (never a secret), or the consequence of it missing
    word: str = ""  # the state in one or two words, shown as the badge (colour only repeats it)

    @property
    def state(self) -> str:
        return self.word or ("Set" if self.present else "Missing")


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
    modes = {match.group(1) for key in (secret, public) if (match := _KEY.match(key))}
    if len(modes) > 1:
        checks.append(
            StripeCheck("Key modes", False, "One key is for test mode and the other for live mode: Stripe refuses "
                        "every payment until both come from the same mode.", "Mismatch")
        )  # fmt: skip
    if last_webhook is None:
        checks.append(
            StripeCheck("Last webhook received", False, "None yet. If customers have paid by card, check in Stripe's "
                        "dashboard that events are sent to the endpoint below.", "None yet")
        )  # fmt: skip
    else:
        kind, received = last_webhook
        checks.append(StripeCheck("Last webhook received", True, f"{kind}, {_when(received)}", "Received"))
    return checks


def _key_hint(key: str) -> str:
    match = _KEY.match(key)
    if match is None:
        return "Set, but not in a format Stripe issues (sk_… or pk_…): check the value."
    mode = "test mode" if match.group(1) == "test" else "live mode"
    # The last four only when the rest stays long: a short test key would be half revealed.
    tail = key[-4:] if len(key) >= len(match.group(0)) + 16 else ""
    return f"{match.group(0)}…{tail} ({mode})"


class Serving(StrEnum):
    OWN = "own"  # the workspace's own connected account
    DEPLOYMENT = "deployment"  # the server's account from the environment
    NONE = "none"  # no card payment


@dataclass(frozen=True, slots=True)
class StripeSection:
    serving: Serving
    connection: StripeConnection | None = None
    key_hint: str = ""
    endpoint_state: str = ""  # as Stripe reports it now, in words
    last_webhook: str = ""
    deployment_checks: tuple[StripeCheck, ...] = ()


async def stripe_section(
    conn: Connection, accounts: StripeAccounts, settings: Settings, workspace_id: int
) -> StripeSection:
    """What the database says; `with_endpoint_state` then asks Stripe (with no connection held meanwhile)."""
    own, deployment_allowed = await select_workspace_card_account(conn, workspace_id)
    if own is None and deployment_allowed and accounts.deployment is not None:
        checks = stripe_checks(settings, await select_last_webhook(conn, None))
        return StripeSection(Serving.DEPLOYMENT, deployment_checks=tuple(checks))
    if own is None:
        return StripeSection(Serving.NONE)
    last = await select_last_webhook(conn, workspace_id)
    return StripeSection(
        Serving.OWN,
        connection=own,
        key_hint=_connected_key_hint(own),
        last_webhook="None yet" if last is None else f"{last[0]}, {_when(last[1])}",
    )


def _connected_key_hint(connection: StripeConnection) -> str:
    prefix = ("sk_" if connection.key_kind == "secret" else "rk_") + ("live_" if connection.livemode else "test_")
    kind = "Secret key" if connection.key_kind == "secret" else "Restricted key"
    return f"{kind} {prefix}…{connection.key_last4}"


async def with_endpoint_state(section: StripeSection, accounts: StripeAccounts, box: SecretBox) -> StripeSection:
    if section.connection is None:
        return section
    return replace(section, endpoint_state=await _endpoint_state(accounts, box, section.connection))


async def _endpoint_state(accounts: StripeAccounts, box: SecretBox, connection: StripeConnection) -> str:
    """Asked of Stripe each time the page is shown (briefly, no retries: a slow Stripe only costs this line)."""
    admin = accounts.admin_for_key(box.open(connection.secret_key), timeout=5.0)
    try:
        endpoint = await admin.retrieve_webhook_endpoint(connection.webhook_endpoint_id)
    except (ProviderUnavailable, PaymentRefused) as failed:
        return f"Could not be checked just now ({failed})"
    finally:
        await admin.close()
    if endpoint is None:
        return "Missing at Stripe: it was deleted in the Dashboard. Connect again to create a new one."
    if endpoint.status != "enabled":
        return "Disabled at Stripe: payments are not recorded until it is enabled again in the Dashboard."
    return "Enabled"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
