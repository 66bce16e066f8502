"""An invoice made and finalized in Stripe (the double) reaches the portal by Stripe's own signed events to a live
server: it appears in the console, its portal link opens in headless Chromium, the customer pays part of it by
card, and Stripe shows the rest remaining; then the rest is paid in Stripe and the open page turns paid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import stripe
from playwright.async_api import Browser, expect

from tests.browser import connect_stripe, enter_card, live_portal, start_payment
from tests.console import console_sign_in
from tests.test_stripe_invoice_import import make_invoice
from web.dev.demo import DEMO_PASSWORD, load_demo
from web.dev.local_stripe import create_account, flush
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def origin(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection, stripe_base: str
) -> AsyncIterator[str]:
    flush(stripe_base)
    async with live_portal(settings, pdf_renderer) as url:
        yield url


async def test_browser_a_stripe_invoice_appears_is_paid_in_part_here_and_the_rest_in_stripe(
    origin: str, browser: Browser, database_url: str, conn: asyncpg.Connection, stripe_base: str
) -> None:
    await load_demo(database_url)
    account = create_account(stripe_base, "Northwind Studio")
    api = stripe.StripeClient(account["secret_key"], base_addresses={"api": stripe_base}, max_network_retries=0)
    errors: list[str] = []
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    console, customer = await context.new_page(), await context.new_page()
    for page in (console, customer):
        page.on("pageerror", lambda error: errors.append(str(error)))
    await console_sign_in(console, origin, conn, "billing@northwind.example", DEMO_PASSWORD)
    await connect_stripe(console, origin, account)

    invoice = await asyncio.to_thread(make_invoice, api)  # made and finalized in Stripe; its events do the rest
    for _ in range(150):  # the double sends its events about a second after each call
        if await conn.fetchval("SELECT count(*) FROM invoices WHERE stripe_invoice_id = $1", invoice.id):
            break
        await asyncio.sleep(0.1)
    await console.goto(f"{origin}/console/invoices")
    await console.get_by_role("link", name=invoice.number).click()
    await expect(console.locator("[data-source=stripe]")).to_contain_text(invoice.id)
    link = await conn.fetchval(
        "SELECT l.token FROM portal_links l JOIN invoices i ON i.id = l.invoice_id WHERE i.stripe_invoice_id = $1",
        invoice.id,
    )

    await customer.goto(f"{origin}/i/{link}")
    due = customer.locator(".amount-due-value")
    await expect(due).to_have_text("€194.00")
    await expect(customer.locator("#stripe-pdf")).to_have_attribute("href", invoice.invoice_pdf)
    await start_payment(customer, "50.00")
    await enter_card(customer, "4242424242424242")
    await customer.get_by_role("button", name="Pay €50.00").click()
    await expect(customer.get_by_role("heading", name="Thank you: payment received")).to_be_visible()
    await expect(due).to_have_text("€144.00", timeout=15_000)  # the payment's event, then the copy
    at_stripe = await asyncio.to_thread(api.v1.invoices.retrieve, invoice.id)
    assert (at_stripe.amount_paid, at_stripe.amount_remaining) == (5000, 14400)

    # The rest is paid in Stripe (out of band, as a finance team records a transfer): the open page follows.
    await asyncio.to_thread(api.v1.invoices.pay, invoice.id, {"paid_out_of_band": True})
    await expect(due).to_have_text("€0.00", timeout=15_000)
    await expect(customer.locator(".summary-status")).to_contain_text("Paid")
    assert errors == []
