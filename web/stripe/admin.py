"""The console's Stripe calls, beside the payment gateway (the only two modules that import `stripe`): checking
pasted keys (the account, the publishable key's account, a restricted key's permissions) and managing the
workspace's webhook endpoint. Errors are said for the billing team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from web.stripe.gateway import PaymentRefused, translate


class KeyRefused(PaymentRefused):
    """Stripe refused the key itself (wrong, revoked, or a restricted key without a permission we need); str() says
    why, in the console's words."""


class EndpointRefused(PaymentRefused):
    """Stripe would not create the webhook endpoint (its reason, with the URL)."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    name: str  # the business name the account shows in its Dashboard ('' when it has none)
    email: str


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    url: str
    status: str  # 'enabled' or 'disabled'
    enabled_events: tuple[str, ...]
    secret: str = ""  # Stripe shows the signing secret once, in the answer to the create


class StripeAdmin:
    """Made for one console action with the key being checked or managed, then closed (never cached: an
    unverified key must not hold a connection pool)."""

    def __init__(self, secret_key: str, *, api_base: str = "", timeout: float = 15.0) -> None:
        self._api_base = api_base
        self._http = stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True)
        # No retries: a person is waiting at the form, and every call here is safe to repeat by resubmitting.
        self._client = stripe.StripeClient(secret_key, http_client=self._http, **self._options())

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def retrieve_account(self) -> AccountInfo:
        """The account the key belongs to: the check that a pasted key works before it is saved."""
        account = (await self._admin(self._client.v1.accounts.retrieve_current_async())).to_dict()
        profile = account.get("business_profile") or {}
        dashboard = (account.get("settings") or {}).get("dashboard") or {}
        name = profile.get("name") or dashboard.get("display_name") or ""
        return AccountInfo(str(account["id"]), str(name), str(account.get("email") or ""))

    async def check_publishable_key(self, publishable_key: str) -> None:
        """That `publishable_key` works and belongs to this key's account: it makes a PII token (harmless: nothing
        is charged or stored beyond the token), which this key can then read only if both are one account's.
        Raises KeyRefused saying which."""
        browser = stripe.StripeClient(publishable_key, http_client=self._http, **self._options())
        try:
            token = await browser.v1.tokens.create_async({"pii": {"id_number": "000000000"}})
        except stripe.AuthenticationError:
            raise KeyRefused("Stripe did not accept this publishable key: it is mistyped or was rolled.") from None
        except stripe.StripeError as error:
            raise _admin_error(error) from error
        try:
            await self._client.v1.tokens.retrieve_async(str(token.id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise KeyRefused(
                    "This publishable key belongs to another Stripe account than the secret key."
                ) from None
            raise translate(error) from error
        except stripe.StripeError as error:
            raise _admin_error(error) from error

    async def check_payment_permissions(self) -> None:
        """A restricted key must be allowed to write PaymentIntents and Refunds: asked with calls on an intent that
        does not exist, which Stripe refuses for the permission (403) before it looks for the intent (404)."""
        probes = (
            lambda: self._client.v1.payment_intents.cancel_async("pi_portal_permission_probe"),
            lambda: self._client.v1.refunds.create_async({"payment_intent": "pi_portal_permission_probe"}),
        )
        for probe in probes:
            try:
                await probe()
            except stripe.InvalidRequestError:
                pass  # allowed, and no such intent: as expected
            except stripe.StripeError as error:
                raise _admin_error(error) from error

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"max_network_retries": 0}
        if self._api_base:
            options["base_addresses"] = {"api": self._api_base}
        return options

    async def create_webhook_endpoint(
        self, *, url: str, events: list[str], description: str, metadata: dict[str, str]
    ) -> WebhookEndpoint:
        params = {"url": url, "enabled_events": events, "description": description, "metadata": metadata}
        try:
            created = await self._client.v1.webhook_endpoints.create_async(params)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as error:
            # Typically the URL: Stripe must be able to reach it (https in live mode).
            raise EndpointRefused(
                f"Stripe refused to create the webhook endpoint for {url}: {error.user_message or error}"
            ) from error
        except stripe.StripeError as error:
            raise _admin_error(error) from error
        return _endpoint(created)

    async def retrieve_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        """None when Stripe no longer has it (someone deleted it in the Dashboard)."""
        try:
            return _endpoint(await self._client.v1.webhook_endpoints.retrieve_async(endpoint_id))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise translate(error) from error
        except stripe.StripeError as error:
            raise _admin_error(error) from error

    async def enable_events(self, endpoint_id: str, events: list[str]) -> bool:
        """Make the endpoint ask for every one of `events` (a portal upgrade handles more types than an endpoint
        created before it asked for); True when it had to be changed. Raises ProviderUnavailable or KeyRefused."""
        try:
            endpoint = _endpoint(await self._client.v1.webhook_endpoints.retrieve_async(endpoint_id))
            if "*" in endpoint.enabled_events or not set(events) - set(endpoint.enabled_events):
                return False
            wanted = sorted(set(endpoint.enabled_events) | set(events))
            await self._client.v1.webhook_endpoints.update_async(endpoint_id, {"enabled_events": wanted})  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise _admin_error(error) from error
        return True

    async def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """Remove it; one already gone counts as removed."""
        try:
            await self._client.v1.webhook_endpoints.delete_async(endpoint_id)
        except stripe.InvalidRequestError as error:
            if error.http_status != 404:
                raise translate(error) from error
        except stripe.StripeError as error:
            raise _admin_error(error) from error

    async def _admin(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except stripe.StripeError as error:
            raise _admin_error(error) from error


def _endpoint(stripe_object: Any) -> WebhookEndpoint:
    obj: dict[str, Any] = stripe_object.to_dict()
    return WebhookEndpoint(
        id=str(obj["id"]),
        url=str(obj.get("url") or ""),
        status=str(obj.get("status") or ""),
        enabled_events=tuple(str(kind) for kind in obj.get("enabled_events") or ()),
        secret=str(obj.get("secret") or ""),
    )


def _admin_error(error: stripe.StripeError) -> Exception:
    """Errors of the console's calls (checking a key, managing the webhook endpoint), said for the billing team."""
    if isinstance(error, stripe.AuthenticationError):
        return KeyRefused(
            "Stripe did not accept this secret key: it is mistyped, or it was revoked or rolled in the Dashboard."
        )
    if isinstance(error, stripe.PermissionError):
        return KeyRefused(
            "This restricted key lacks a permission the portal needs. Give it write access to PaymentIntents, "
            "Refunds and Webhook Endpoints and read access to the Account, or use the secret key. Stripe said: "
            + (error.user_message or str(error))
        )
    return translate(error)
