"""A billing teammate connects the workspace's own Stripe account in console settings (headless Chromium), then a
customer pays an invoice of that workspace by card: the PaymentIntent is made in that account, and the event the
Stripe double sends to the endpoint the portal created there marks the payment, live on the open page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from tests.browser import connect_stripe, enter_card, live_portal, start_payment
from tests.console import console_sign_in
from web.dev.demo import DEMO_PASSWORD, load_demo
from web.dev.local_stripe import create_account, flush
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def origin(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection, stripe_base: str
) -> AsyncIterator[str]:
    """A deployment without Stripe keys in its environment: card payment exists only once a workspace connects.
    BASE_URL names the live server, so the webhook endpoint created at Stripe points back at it."""
    flush(stripe_base)
    keyless = {"stripe_secret_key": "", "stripe_publishable_key": "", "stripe_webhook_secret": ""}
    async with live_portal(settings, pdf_renderer, **keyless) as url:
        yield url


async def test_browser_billing_connects_stripe_then_a_customer_pays_by_card(
    origin: str, browser: Browser, database_url: str, conn: asyncpg.Connection, stripe_base: str
) -> None:
    links = dict(await load_demo(database_url))
    stripe = create_account(stripe_base, "Northwind Studio")
    errors: list[str] = []
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    console, customer = await context.new_page(), await context.new_page()
    for page in (console, customer):
        page.on("pageerror", lambda error: errors.append(str(error)))

    await customer.goto(f"{origin}/i/{links['partial']}")
    await expect(customer.locator("#payment")).to_contain_text("not available")  # no Stripe yet

    await console_sign_in(console, origin, conn, "billing@northwind.example", DEMO_PASSWORD)
    await console.goto(f"{origin}/console/settings")
    section = console.locator("#stripe-status")
    await expect(section).to_contain_text("Card payment is off")
    await connect_stripe(console, origin, stripe)
    await expect(section).to_contain_text(stripe["id"])
    await expect(section.locator("[data-endpoint-state]")).to_contain_text("Enabled")
    assert stripe["secret_key"] not in await console.content()

    await customer.reload()
    due = customer.locator(".amount-due-value")
    await expect(due).to_have_text("€3,402.58")
    await start_payment(customer, "100.00")
    await enter_card(customer, "4242424242424242")
    await customer.get_by_role("button", name="Pay €100.00").click()
    await expect(customer.get_by_role("heading", name="Thank you: payment received")).to_be_visible()
    # The double signs the event with the secret of the endpoint the portal created in this account.
    await expect(due).to_have_text("€3,302.58", timeout=15_000)

    await console.reload()
    await expect(section.locator("[data-last-event]")).to_contain_text("payment_intent.succeeded")
    account_id = await conn.fetchval(
        "SELECT stripe_account_id FROM payments WHERE status = 'succeeded' AND method = 'card'"
    )
    assert account_id == stripe["id"]
    assert errors == []
