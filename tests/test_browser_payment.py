"""A customer in headless Chromium pays part of a demo invoice with Stripe.js (localstripe's, with its real
webhooks back to a live server): the amount due drops without a reload, on a second open page too; a declined
card shows its message and the customer retries; a 3-D Secure card goes through the bank's check."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from tests.browser import enter_card, live_server_with_webhooks, start_payment
from tests.conftest import WEBHOOK_SECRET
from web.app import create_app
from web.dev.demo import load_demo
from web.dev.local_stripe import TokenCardId
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
async def origin(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection, stripe_base: str
) -> AsyncIterator[str]:
    app = create_app(settings, pdf_renderer=pdf_renderer, stripe_cards=TokenCardId())
    async with live_server_with_webhooks(app, stripe_base, WEBHOOK_SECRET, "browser-test") as url:
        yield url


async def test_browser_pay_part_decline_retry_and_3ds(
    origin: str, browser: Browser, database_url: str, conn: asyncpg.Connection
) -> None:
    links = dict(await load_demo(database_url))
    url = f"{origin}/i/{links['partial']}"
    context = await browser.new_context(locale="en-US")
    payer, watcher = await context.new_page(), await context.new_page()
    await payer.set_viewport_size({"width": 390, "height": 844})  # the customer pays on a phone
    errors: list[str] = []
    for page in (payer, watcher):
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(url)
    due = payer.locator(".amount-due-value")
    await expect(due).to_have_text("€3,402.58")  # 40% of the total arrived by bank transfer
    await payer.evaluate("window.notReloaded = true")

    # Part of the balance with a good card.
    await start_payment(payer, "100.00")
    width = await payer.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"card step overflows a phone screen: {width}"
    await enter_card(payer, "4242424242424242")
    await payer.get_by_role("button", name="Pay €100.00").click()
    await expect(payer.get_by_role("heading", name="Thank you: payment received")).to_be_visible()
    # The webhook arrives (about a second later) and both open pages follow without a reload.
    await expect(due).to_have_text("€3,302.58", timeout=15_000)
    await expect(watcher.locator(".amount-due-value")).to_have_text("€3,302.58", timeout=15_000)
    await expect(watcher.locator("#payment-amount")).to_have_value("3302.58")  # its idle form follows too
    await expect(payer.locator("table.payments")).to_contain_text("•••• 4242")
    assert await payer.evaluate("window.notReloaded") is True

    # A declined card: its message, and another try on the same page.
    await payer.get_by_role("link", name="Back to the invoice").click()
    await start_payment(payer, "50.00")
    await enter_card(payer, "4000000000000341")
    await payer.get_by_role("button", name="Pay €50.00").click()
    await expect(payer.locator("#payment-message")).to_contain_text("Your card was declined.")
    await expect(payer.locator("#payment-message")).to_contain_text("Your card was not charged")
    await enter_card(payer, "4242424242424242")
    await payer.get_by_role("button", name="Pay €50.00").click()
    await expect(payer.get_by_role("heading", name="Thank you: payment received")).to_be_visible()
    await expect(due).to_have_text("€3,252.58", timeout=15_000)

    # 3-D Secure: the bank's check (localstripe's dialog), then the return path.
    await payer.get_by_role("link", name="Back to the invoice").click()
    await start_payment(payer, "20.00")
    await enter_card(payer, "4000002760003184")
    await payer.get_by_role("button", name="Pay €20.00").click()
    await payer.get_by_role("button", name="Complete authentication").click()
    await expect(payer.get_by_role("heading", name="Thank you: payment received")).to_be_visible()
    await expect(due).to_have_text("€3,232.58", timeout=15_000)
    assert errors == []
    assert await conn.fetchval("SELECT count(*) FROM payments WHERE status = 'succeeded' AND method = 'card'") == 3
    await context.close()
