"""Which Stripe account serves a workspace: its own (connected in the console, keys sealed in the database), else
the deployment's from the environment (STRIPE_SECRET_KEY …), which serves every workspace that has not connected
one, so a deployment configured before workspaces could connect keeps working unchanged.

A card payment stays with the account its PaymentIntent was made in: its confirmation, its events and its refunds
all go through that account's key, even after the workspace connects another one (then that attempt is closed).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from db.rows import Connection
from db.stripe_connections import CardKeys, StripeConnection, select_stripe_connection, select_workspace_card_account
from web.secret_box import SecretBox
from web.settings import Settings
from web.stripe.admin import StripeAdmin
from web.stripe.gateway import CardAttachment, StripeGateway

# Gateways are kept per key (each holds an HTTP connection pool); a deployment with more connected workspaces
# than this rebuilds the least recently used ones, which costs a TLS handshake, not a failure.
_MAX_GATEWAYS = 512


@dataclass(frozen=True, slots=True)
class StripeAccount:
    """One Stripe account as the portal uses it."""

    workspace_id: int | None  # the workspace whose own account it is; None for the deployment's
    account_id: str | None  # acct_… of a workspace's connection; None for the deployment's keys
    publishable_key: str
    webhook_secret: str
    gateway: StripeGateway


class StripeAccounts:
    """Built once per app: the deployment's account and a cache of gateways for the workspaces' keys."""

    def __init__(self, settings: Settings, box: SecretBox, cards: CardAttachment | None = None) -> None:
        self._box = box
        self._api_base = settings.stripe_api_base
        self._cards = cards
        self._gateways: OrderedDict[str, StripeGateway] = OrderedDict()
        self.deployment: StripeAccount | None = None
        if settings.stripe_connected:
            self.deployment = StripeAccount(
                workspace_id=None,
                account_id=None,
                publishable_key=settings.stripe_publishable_key,
                webhook_secret=settings.stripe_webhook_secret,
                gateway=self.gateway_for_key(settings.stripe_secret_key),
            )

    def admin_for_key(self, secret_key: str, *, timeout: float = 15.0) -> StripeAdmin:
        """For one console action with `secret_key` (checked or managed); the caller closes it."""
        return StripeAdmin(secret_key, api_base=self._api_base, timeout=timeout)

    def gateway_for_key(self, secret_key: str) -> StripeGateway:
        """The gateway that speaks with `secret_key`, a saved one (cached: the same key gets the same HTTP pool)."""
        name = hashlib.sha256(secret_key.encode()).hexdigest()
        gateway = self._gateways.get(name)
        if gateway is None:
            gateway = StripeGateway(secret_key, api_base=self._api_base, cards=self._cards)
            self._gateways[name] = gateway
            while len(self._gateways) > _MAX_GATEWAYS:
                self._gateways.popitem(last=False)
        self._gateways.move_to_end(name)
        return gateway

    def opened_key(self, connection: StripeConnection) -> str:
        return self._box.open(connection.secret_key)

    def connected(self, connection: StripeConnection) -> StripeAccount:
        return StripeAccount(
            workspace_id=connection.workspace_id,
            account_id=connection.account_id,
            publishable_key=connection.publishable_key,
            webhook_secret=self._box.open(connection.webhook_secret),
            gateway=self.gateway_for_key(self.opened_key(connection)),
        )

    async def own(self, conn: Connection, workspace_id: int) -> StripeAccount | None:
        """The workspace's own connected account, if any (its webhook endpoint verifies with this one only)."""
        connection = await select_stripe_connection(conn, workspace_id)
        return None if connection is None else self.connected(connection)

    async def for_workspace(self, conn: Connection, workspace_id: int) -> StripeAccount | None:
        """The account new card payments of the workspace are made in; None: no card payment."""
        own, deployment_allowed = await select_workspace_card_account(conn, workspace_id)
        if own is not None:
            return self.connected(own)
        return self.deployment if deployment_allowed else None

    async def holding(self, conn: Connection, workspace_id: int, stripe_account_id: str | None) -> StripeAccount | None:
        """The account a payment's intent lives in, if the portal still holds its key (to read where it stands,
        even when that account no longer takes the workspace's new payments)."""
        if stripe_account_id is None:
            return self.deployment
        own = await self.own(conn, workspace_id)
        return own if own is not None and own.account_id == stripe_account_id else None

    async def for_payment(
        self, conn: Connection, workspace_id: int, stripe_account_id: str | None
    ) -> StripeAccount | None:
        """The account a payment's intent lives in, while it still serves the workspace; else None (the attempt
        cannot go on: the workspace disconnected it or moved to another account)."""
        account = await self.for_workspace(conn, workspace_id)
        return account if account is not None and account.account_id == stripe_account_id else None


def publishable_key_for(settings: Settings, keys: CardKeys) -> str:
    """The key the customer's card form loads: the workspace's own, else the deployment's ('' : none)."""
    if keys.own_publishable_key:
        return keys.own_publishable_key
    return settings.stripe_publishable_key if settings.stripe_connected and keys.deployment_stripe else ""
