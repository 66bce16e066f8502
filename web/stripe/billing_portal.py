"""Stripe's customer portal (part of the gateway: only web/stripe imports `stripe`): a session for one customer of
the workspace's account, which Stripe hosts, with the way back to the billing history."""

from __future__ import annotations

from typing import Any

import stripe

from web.stripe.gateway import StripeGateway, translate

# Stripe's customer portal languages (its `locale` values); anything else lets Stripe choose from the browser.
PORTAL_LOCALES = frozenset(
    "bg cs da de el en en-GB es et fi fil fr hr hu id it ja ko lt lv ms mt nb nl pl pt pt-BR ro ru sk sl sv th tr "
    "vi zh".split()
)


def portal_locale(tag: str) -> str:
    """The reader's language as Stripe's portal knows it (de-AT → de), else `auto`."""
    if tag in PORTAL_LOCALES:
        return tag
    language = tag.split("-")[0]
    return language if language in PORTAL_LOCALES else "auto"


async def open_portal_session(gateway: StripeGateway, customer_id: str, return_url: str, locale: str) -> str:
    """The URL of a new portal session (short-lived, single use). Raises ProviderUnavailable or PaymentRefused."""
    params: dict[str, Any] = {"customer": customer_id, "return_url": return_url, "locale": portal_locale(locale)}
    try:
        session = await gateway.client.v1.billing_portal.sessions.create_async(params)  # type: ignore[arg-type]
    except stripe.StripeError as error:
        raise translate(error) from error
    return str(session.url)
