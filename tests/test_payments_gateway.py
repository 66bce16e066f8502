"""web/stripe/gateway.py with the real stripe SDK talking HTTP to localstripe, and webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time

import pytest

from web.dev.local_stripe import flush
from web.stripe.gateway import InvalidWebhook, PaymentRefused, ProviderUnavailable, StripeGateway

SECRET = "whsec_test_secret"


@pytest.fixture
def gateway(stripe_base: str) -> StripeGateway:
    flush(stripe_base)
    return StripeGateway("sk_test_portal", api_base=stripe_base)


async def test_payments_gateway_creates_updates_and_cancels_intents(gateway: StripeGateway) -> None:
    intent = await gateway.create_intent(
        amount=1250, currency="EUR", metadata={"invoice_id": "7", "invoice_number": "INV-2026-0007"},
        idempotency_key="attempt-1",
    )  # fmt: skip
    assert intent.id.startswith("pi_") and intent.amount == 1250 and intent.currency == "EUR"
    assert intent.client_secret and intent.client_secret.startswith(intent.id)
    assert (await gateway.retrieve_intent(intent.id)).status == "requires_payment_method"
    lowered = await gateway.update_intent_amount(intent.id, 900)
    assert lowered.amount == 900
    assert (await gateway.cancel_intent(intent.id)).status == "canceled"


async def test_payments_gateway_zero_and_three_decimal_amounts(gateway: StripeGateway) -> None:
    jpy = await gateway.create_intent(amount=5000, currency="JPY", metadata={}, idempotency_key="a")
    kwd = await gateway.create_intent(amount=12340, currency="KWD", metadata={}, idempotency_key="b")
    assert (jpy.amount, jpy.currency, kwd.amount, kwd.currency) == (5000, "JPY", 12340, "KWD")


async def test_payments_gateway_refusal_is_readable(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentRefused):
        await gateway.retrieve_intent("pi_does_not_exist")


async def test_payments_gateway_stripe_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    down = StripeGateway("sk_test_portal", api_base=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ProviderUnavailable, match="not answering"):
        await down.create_intent(amount=1000, currency="EUR", metadata={}, idempotency_key="x")


def _signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = at if at is not None else int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def test_payments_webhook_signature_good_bad_and_stale() -> None:
    payload = json.dumps(
        {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}}
    ).encode()
    assert StripeGateway.verify_event(payload, _signed(payload), SECRET)["id"] == "evt_1"
    with pytest.raises(InvalidWebhook):
        StripeGateway.verify_event(payload, _signed(payload, secret="whsec_other"), SECRET)
    with pytest.raises(InvalidWebhook):
        StripeGateway.verify_event(payload + b" ", _signed(payload), SECRET)  # body changed after signing
    with pytest.raises(InvalidWebhook):
        StripeGateway.verify_event(payload, _signed(payload, at=int(time.time()) - 600), SECRET)
    with pytest.raises(InvalidWebhook):
        StripeGateway.verify_event(payload, None, SECRET)
