"""The only module that talks to Stripe: PaymentIntents, refunds and webhook verification.

Failures are translated into two exceptions the views can word for a customer: `ProviderUnavailable`
(timeouts, connection errors, rate limits, Stripe 5xx: "try again", nothing was charged twice because every
create carries an idempotency key) and `PaymentRefused` (Stripe said no to this request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe


class ProviderUnavailable(RuntimeError):
    pass


class PaymentRefused(RuntimeError):
    pass


class InvalidWebhook(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    failure_message: str


def _intent(stripe_object: Any) -> Intent:
    obj: dict[str, Any] = stripe_object.to_dict()  # StripeObject is not a Mapping in stripe >= 15
    error = obj.get("last_payment_error") or {}
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),  # localstripe answers an updated amount as a string
        currency=str(obj["currency"]).upper(),
        client_secret=obj.get("client_secret"),
        failure_message=(error.get("message") or "") if isinstance(error, dict) else "",
    )


class StripeGateway:
    def __init__(self, secret_key: str, *, api_base: str = "", timeout: float = 20.0) -> None:
        options: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._client = stripe.StripeClient(
            secret_key, http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True), **options
        )

    async def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        return await self._call(
            self._client.v1.payment_intents.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        )

    async def retrieve_intent(self, intent_id: str) -> Intent:
        return await self._call(self._client.v1.payment_intents.retrieve_async(intent_id))

    async def update_intent_amount(self, intent_id: str, amount: int) -> Intent:
        return await self._call(self._client.v1.payment_intents.update_async(intent_id, {"amount": amount}))

    async def cancel_intent(self, intent_id: str) -> Intent:
        return await self._call(self._client.v1.payment_intents.cancel_async(intent_id))

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> str:
        params = {"payment_intent": intent_id, "amount": amount}
        try:
            refund = await self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise _translate(error) from error
        return str(refund.id)

    @staticmethod
    def verify_event(payload: bytes, signature: str | None, secret: str, tolerance: int = 300) -> dict[str, Any]:
        """The event, if `signature` is Stripe's signature of exactly these bytes within `tolerance` seconds."""
        try:
            event = stripe.Webhook.construct_event(payload, signature or "", secret, tolerance=tolerance)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(str(error)) from error
        return event.to_dict()

    async def _call(self, awaitable: Any) -> Intent:
        try:
            return _intent(await awaitable)
        except stripe.StripeError as error:
            raise _translate(error) from error


def _translate(error: stripe.StripeError) -> Exception:
    status = error.http_status or 0
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 0:
        return ProviderUnavailable("The payment service is not answering right now.")
    message = error.user_message or "The payment could not be set up."
    return PaymentRefused(message)
