"""A Charge's `payment_method_details`, which localstripe leaves out: what Stripe says of the payment method at
the time of the charge (for a card: brand, last 4, expiry, funding, country, fingerprint). The portal reads it to
print the card on the receipt of a payment made in Stripe itself (an imported invoice paid on Stripe's page)."""

from __future__ import annotations

from typing import Any

from localstripe import resources

from .invoice_common import JSON, find

_CARD_FIELDS = ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4")


def payment_method_details(charge: Any) -> JSON | None:
    method = find("payment_method", charge.payment_method)
    if method is None:
        return None
    if method.type == "card":
        card = {name: method.card.get(name) for name in _CARD_FIELDS}
        return {"type": "card", "card": {**card, "network": card["brand"], "wallet": None}}
    return {"type": method.type, method.type: dict(getattr(method, method.type, None) or {})}


def patch() -> None:
    # A property: localstripe's export takes every public attribute and property of the object.
    resources.Charge.payment_method_details = property(payment_method_details)
