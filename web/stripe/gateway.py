"""The only module that imports `stripe`: PaymentIntents, refunds and webhook verification.

Failures are translated into two exceptions the views can word for a customer: `ProviderUnavailable`
(timeouts, connection errors, rate limits, Stripe 5xx: "try again", nothing was charged twice because every
create carries an idempotency key) and `PaymentRefused` (Stripe said no to this request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import stripe


class ProviderUnavailable(RuntimeError):
    pass


class PaymentRefused(RuntimeError):
    pass


class CardDeclined(PaymentRefused):
    """The bank or 3-D Secure said no; str() is Stripe's customer-facing message (English), `code` and
    `decline_code` Stripe's reasons, which the payment step words in the reader's language."""

    def __init__(self, message: str, code: str = "", decline_code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code


class InvalidWebhook(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CardSummary:
    brand: str
    last4: str


class IntentStatus(StrEnum):
    """Stripe's PaymentIntent statuses (docs.stripe.com/payments/paymentintents/lifecycle)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    failure_message: str
    failure_code: str = ""  # last_payment_error's code, and its decline_code when a bank declined
    decline_code: str = ""
    # The whole object as Stripe sent it (what the ledger reads when no event will bring it).
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


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
        failure_code=str(error.get("code") or "") if isinstance(error, dict) else "",
        decline_code=str(error.get("decline_code") or "") if isinstance(error, dict) else "",
        raw=obj,
    )


@dataclass(frozen=True, slots=True)
class CardToConfirm:
    """A tokenised card made ready for a PaymentIntent: what to attach, what to show, how to confirm."""

    payment_method: str
    summary: CardSummary
    confirm_params: dict[str, Any]


class CardAttachment(Protocol):
    """How the card token from the browser becomes something a PaymentIntent is confirmed with. Chosen at start-up:
    Stripe's way here; a test double that speaks an older dialect brings its own (web/dev/local_stripe.py)."""

    async def prepare(self, client: stripe.StripeClient, card_token: str) -> CardToConfirm: ...


class PaymentMethodFromToken:
    """Stripe's way: a PaymentMethod made from the token, confirmed with `use_stripe_sdk` so that a 3-D Secure step
    comes back as a next action Stripe.js can handle."""

    async def prepare(self, client: stripe.StripeClient, card_token: str) -> CardToConfirm:
        method = await client.v1.payment_methods.create_async({"type": "card", "card": {"token": card_token}})
        card = method.to_dict()["card"]
        summary = CardSummary(str(card.get("brand", "")), str(card["last4"]))
        return CardToConfirm(str(method.id), summary, {"use_stripe_sdk": True})


class StripeGateway:
    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str = "",
        timeout: float = 20.0,
        cards: CardAttachment | None = None,
    ) -> None:
        options: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._cards = cards or PaymentMethodFromToken()
        self._client = stripe.StripeClient(
            secret_key, http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True), **options
        )

    @property
    def client(self) -> stripe.StripeClient:
        """For the other modules of the gateway (web/stripe/invoices.py); nothing outside web/stripe uses it."""
        return self._client

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

    async def confirm_card(self, intent_id: str, *, card_token: str, amount: int) -> tuple[Intent, CardSummary]:
        """Attach the card the browser tokenised, set the amount we agreed to, and confirm on the server.

        Finalising on the server is what lets us check the balance right before money moves. The result is
        `succeeded`, `processing` or `requires_action` (3-D Secure: the browser finishes it with the client
        secret); a refusal raises CardDeclined.
        """
        try:
            card = await self._cards.prepare(self._client, card_token)
            await self._client.v1.payment_intents.update_async(
                intent_id, {"payment_method": card.payment_method, "amount": amount}
            )
            confirmed = await self._client.v1.payment_intents.confirm_async(intent_id, card.confirm_params)  # type: ignore[arg-type]
        except stripe.CardError as error:
            raise CardDeclined(
                error.user_message or "Your card was declined.",
                str(error.code or ""),
                str(getattr(error, "decline_code", "") or ""),
            ) from error
        except stripe.StripeError as error:
            raise translate(error) from error
        return _intent(confirmed), card.summary

    async def refund(self, *, intent_id: str, amount: int, idempotency_key: str) -> str:
        params = {"payment_intent": intent_id, "amount": amount}
        try:
            refund = await self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise translate(error) from error
        return str(refund.id)

    @staticmethod
    def verify_event(payload: bytes, signature: str | None, secret: str, tolerance: int = 300) -> dict[str, Any]:
        """The event, if `signature` is Stripe's signature of exactly these bytes within `tolerance` seconds."""
        try:
            event = stripe.Webhook.construct_event(payload, signature or "", secret, tolerance=tolerance)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(str(error)) from error
        verified: dict[str, Any] = event.to_dict()
        return verified

    async def _call(self, awaitable: Any) -> Intent:
        try:
            return _intent(await awaitable)
        except stripe.StripeError as error:
            raise translate(error) from error


def translate(error: stripe.StripeError) -> Exception:
    status = error.http_status or 0
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 0:
        return ProviderUnavailable("The payment service is not answering right now.")
    message = error.user_message or "The payment could not be set up."
    return PaymentRefused(message)
