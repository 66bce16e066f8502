"""Connecting a workspace's own Stripe account from the console, and disconnecting it.

Connecting checks the pasted keys with Stripe before anything is saved (the account they belong to), creates the
workspace's webhook endpoint in that account, and stores the key and the endpoint's signing secret sealed. If the
save fails, the new endpoint is removed again; a connection it replaces has its old endpoint removed. Nothing half
done stays behind on either side, except an endpoint Stripe could not be asked to remove (said to the user).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import asyncpg

from db.session import lock_names_for_transaction
from db.stripe_connections import (
    StripeConnection,
    delete_stripe_connection,
    save_stripe_connection,
    select_stripe_connection,
)
from db.wording import forget_pages
from web.payments.wind_down import settle_attempts_before_forgetting
from web.secret_box import SecretBox
from web.stripe.accounts import StripeAccounts
from web.stripe.admin import AccountInfo, EndpointRefused, KeyRefused, StripeAdmin
from web.stripe.gateway import PaymentRefused, ProviderUnavailable
from web.stripe_sync.events import HANDLED_EVENTS

log = logging.getLogger(__name__)

_SECRET = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,240}$")
PUBLISHABLE_KEY = re.compile(r"^pk_(test|live)_[A-Za-z0-9_]{8,240}$")
UNREACHABLE = "Stripe could not be reached just now."


class ConnectRefused(Exception):
    """Why the keys were not connected, for the field it concerns ('' : the form as a whole). Nothing was saved."""

    def __init__(self, field: str, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = 503 if unreachable else 422


@dataclass(frozen=True, slots=True)
class Keys:
    secret: str
    publishable: str
    livemode: bool
    kind: str  # 'secret' or 'restricted'


def check_keys(secret: str, publishable: str) -> Keys:
    """The format and the mode of both keys, before Stripe is asked anything."""
    secret, publishable = secret.strip(), publishable.strip()
    if not secret:
        raise ConnectRefused("secret_key", "Paste the secret key (sk_…) or a restricted key (rk_…) of your account.")
    if secret.startswith("pk_"):
        raise ConnectRefused("secret_key", "This is a publishable key (pk_…): the secret key starts with sk_ or rk_.")
    match = _SECRET.match(secret)
    if match is None:
        raise ConnectRefused(
            "secret_key",
            "This is not a Stripe secret key: it starts with sk_test_, sk_live_, rk_test_ or rk_live_. "
            "Copy it again from Stripe's Dashboard (Developers → API keys).",
        )
    if not publishable:
        raise ConnectRefused("publishable_key", "Paste the publishable key (pk_…) of the same account.")
    if publishable.startswith(("sk_", "rk_")):
        raise ConnectRefused(
            "publishable_key",
            "This is a secret key: it belongs in the field above. The publishable key starts with pk_.",
        )
    public = PUBLISHABLE_KEY.match(publishable)
    if public is None:
        raise ConnectRefused("publishable_key", "This is not a Stripe publishable key: it starts with pk_test_ or "
                             "pk_live_.")  # fmt: skip
    if match.group(2) != public.group(1):
        raise ConnectRefused("publishable_key", "One key is for test mode and the other for live mode. Use both "
                             "keys of the same mode.")  # fmt: skip
    kind = "secret" if match.group(1) == "sk" else "restricted"
    return Keys(secret, publishable, match.group(2) == "live", kind)


async def connect(
    pool: asyncpg.Pool,
    accounts: StripeAccounts,
    box: SecretBox,
    *,
    workspace_id: int,
    keys: Keys,
    webhook_url: str,
    staff_email: str,
) -> StripeConnection:
    """Check the keys with Stripe, create the endpoint, save. Raises ConnectRefused with the reason."""
    if keys.livemode and not webhook_url.startswith("https://"):
        raise ConnectRefused(
            "",
            "Live mode needs the portal on https, so that Stripe can send its events: they would go to "
            f"{webhook_url} (set BASE_URL to the portal's https address). Nothing was saved.",
        )
    admin = accounts.admin_for_key(keys.secret)
    try:
        account = await _checked(admin, keys)
        endpoint = await admin.create_webhook_endpoint(
            url=webhook_url, events=sorted(HANDLED_EVENTS), description="Invoice portal",
            metadata={"workspace_id": str(workspace_id)},
        )  # fmt: skip
    except ProviderUnavailable:
        raise ConnectRefused("", UNREACHABLE + " Nothing was saved.", unreachable=True) from None
    except EndpointRefused as refused:
        raise ConnectRefused("", f"{refused} Nothing was saved.") from None
    except KeyRefused as refused:
        field = "publishable_key" if "publishable key" in str(refused) else "secret_key"
        raise ConnectRefused(field, f"{refused} Nothing was saved.") from None
    except PaymentRefused as refused:
        raise ConnectRefused("secret_key", f"{refused} Nothing was saved.") from None
    finally:
        await admin.close()
    try:
        await _settle_previous(pool, accounts, workspace_id, account.id)
    except ProviderUnavailable:
        await _remove_endpoint(accounts, keys.secret, endpoint.id)
        raise ConnectRefused("", UNREACHABLE + " Payments under way with the account connected now could not be "
                             "settled first, so nothing was changed.", unreachable=True) from None  # fmt: skip
    connection = StripeConnection(
        workspace_id=workspace_id, account_id=account.id, account_name=account.name[:300], livemode=keys.livemode,
        secret_key=box.seal(keys.secret), key_kind=keys.kind, key_last4=keys.secret[-4:],
        publishable_key=keys.publishable, webhook_endpoint_id=endpoint.id, webhook_url=webhook_url,
        webhook_secret=box.seal(endpoint.secret), connect_account_id=None, connected_by=staff_email[:320],
    )  # fmt: skip
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Two teammates connecting at once: one after the other, and each replaced endpoint is removed.
            await lock_names_for_transaction(conn, f"stripe-connection:{workspace_id}")
            previous = await select_stripe_connection(conn, workspace_id)
            saved = await save_stripe_connection(conn, connection)
            await forget_pages(conn, workspace_id)
    except BaseException:
        await _remove_endpoint(accounts, keys.secret, endpoint.id)
        raise
    if previous is not None and previous.webhook_endpoint_id != endpoint.id:
        await _remove_endpoint(accounts, box.open(previous.secret_key), previous.webhook_endpoint_id)
    log.info("workspace %s connected Stripe account %s (%s)", workspace_id, account.id, saved.key_kind)
    return saved


@dataclass(frozen=True, slots=True)
class Disconnected:
    connection: StripeConnection
    endpoint_removed: bool  # False: Stripe could not be asked; the billing team removes it in the Dashboard


async def disconnect(
    pool: asyncpg.Pool, accounts: StripeAccounts, box: SecretBox, workspace_id: int
) -> Disconnected | None:
    """Payments under way are settled with Stripe first; card payment stops with the commit; then the endpoint is
    removed at Stripe. None: nothing was connected. Raises ConnectRefused when Stripe cannot be reached (nothing
    changed: a charged customer would otherwise go unrecorded)."""
    try:
        await _settle_previous(pool, accounts, workspace_id, None)
    except ProviderUnavailable:
        raise ConnectRefused("", UNREACHABLE + " Payments under way could not be settled first, so Stripe is still "
                             "connected. Please try again in a moment.", unreachable=True) from None  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await lock_names_for_transaction(conn, f"stripe-connection:{workspace_id}")
        connection = await delete_stripe_connection(conn, workspace_id)
        if connection is None:
            return None
        await forget_pages(conn, workspace_id)
    removed = await _remove_endpoint(accounts, box.open(connection.secret_key), connection.webhook_endpoint_id)
    log.info("workspace %s disconnected Stripe account %s", workspace_id, connection.account_id)
    return Disconnected(connection, removed)


async def _checked(admin: StripeAdmin, keys: Keys) -> AccountInfo:
    """The account both keys belong to, and for a restricted key the permissions card payments need."""
    account = await admin.retrieve_account()
    await admin.check_publishable_key(keys.publishable)
    if keys.kind == "restricted":
        await admin.check_payment_permissions()
    return account


async def _settle_previous(
    pool: asyncpg.Pool, accounts: StripeAccounts, workspace_id: int, keeping: str | None
) -> None:
    """Settle the attempts under way in the workspace's own account before its key goes (unless it is `keeping`,
    the account being connected again with new keys)."""
    async with pool.acquire() as conn:
        own = await accounts.own(conn, workspace_id)
    if own is not None and own.account_id != keeping:
        await settle_attempts_before_forgetting(pool, own, workspace_id)


async def _remove_endpoint(accounts: StripeAccounts, secret_key: str, endpoint_id: str) -> bool:
    admin = accounts.admin_for_key(secret_key)
    try:
        await admin.delete_webhook_endpoint(endpoint_id)
    except (ProviderUnavailable, PaymentRefused) as failed:
        log.warning("could not remove Stripe webhook endpoint %s: %s", endpoint_id, failed)
        return False
    finally:
        await admin.close()
    return True
