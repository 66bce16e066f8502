"""The console in headless Chromium, end to end: sign in with TOTP, create a customer and a three-line invoice
watching the totals update as you type, preview, send, read the e-mail from the SMTP server, open its link as the
customer in a second browser, comment there; the support inbox shows it without a reload and the reply reaches
the customer's page live."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from db.customers import insert_customer
from tests import factories
from tests.browser import live_server
from tests.console import account, console_sign_in
from tests.mailbox import Mailbox
from web.app import create_app
from web.console.listing import CUSTOMER_CHOICES
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser
CUSTOMER = "ap@lumen.example"


@pytest.fixture
async def origin(settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection) -> AsyncIterator[str]:
    async with live_server(create_app(settings, pdf_renderer=pdf_renderer)) as url:
        yield url


async def _page(browser: Browser, errors: list[str], width: int = 1280) -> Page:
    context = await browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


async def _fill_line(page: Page, index: int, values: tuple[str, str, str, str]) -> None:
    line = page.locator("fieldset.line").nth(index)
    for label, value in zip(("Description", "Quantity", "Unit price", "VAT %"), values, strict=True):
        await line.get_by_label(label).fill(value)


async def test_billing_builds_sends_and_support_answers_live(
    origin: str, browser: Browser, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    ws = await factories.workspace(conn)
    billing = await account(conn, ws)
    errors: list[str] = []
    page = await _page(browser, errors)
    await console_sign_in(page, origin, conn, billing.email)
    await expect(page.get_by_role("heading", name="Invoices")).to_be_visible()

    # A customer, then a draft for them.
    await page.get_by_role("link", name="New customer").click()
    await page.get_by_label("Name").fill("Lumen Optics SARL")
    await page.get_by_label("Billing e-mail").fill(CUSTOMER)
    await page.get_by_label("Street and number").fill("12 Quai Voltaire")
    await page.get_by_label("Postcode").fill("75007")
    await page.get_by_label("City").fill("Paris")
    await page.get_by_label("Country").select_option("FR")
    await page.get_by_label("VAT / tax id").fill("FR40303265045")
    await page.get_by_role("button", name="Create customer").click()
    await expect(page.get_by_text("Saved.")).to_be_visible()
    await page.get_by_role("button", name="New invoice for this customer").click()
    await expect(page.get_by_role("heading", name=re.compile("Draft invoice"))).to_be_visible()

    # Three lines; the totals follow the typing without a reload.
    await page.evaluate("window.sameDocument = true")
    total = page.locator("[data-total=total]")
    lines = [
        ("Lens design", "10", "85.00", "19"),
        ("Prototype hosting", "1", "20", "7"),
        ("Workshop", "0.5", "1200,50", "19"),
    ]
    for index, values in enumerate(lines):
        await page.get_by_role("button", name="Add line").click()
        await expect(page.locator("fieldset.line")).to_have_count(index + 1)
        await _fill_line(page, index, values)
    await expect(total).to_have_text("€1,747.20")
    await expect(page.locator("[data-total='vat-7']")).to_have_text("€1.40")
    await page.locator("fieldset.line").nth(1).get_by_label("Quantity").fill("3")
    await expect(total).to_have_text("€1,790.00")
    await page.locator("fieldset.line").nth(1).get_by_label("Quantity").fill("1e3")
    await expect(page.locator("fieldset.line").nth(1).locator("[id$='-quantity-error']")).to_contain_text("digits 0–9")
    await page.locator("fieldset.line").nth(1).get_by_label("Quantity").fill("1")
    await expect(total).to_have_text("€1,747.20")
    assert await page.evaluate("window.sameDocument") is True

    # Preview: the customer's page, marked as a preview.
    await page.get_by_role("button", name="Preview as the customer sees it").click()
    await expect(page.get_by_text("Preview: this is exactly what the customer sees.")).to_be_visible()
    await expect(page.get_by_text("€1,747.20").first).to_be_visible()
    await page.go_back()

    # Send, and read the e-mail the customer got.
    await page.get_by_role("button", name=f"Send to {CUSTOMER}").click()
    await expect(page.get_by_text("Sent. The customer was e-mailed the link.")).to_be_visible()
    subject, body = await mailbox.text_of(CUSTOMER)
    number = re.search(r"INV-\d{4}-\d{4}", subject)
    token = re.search(r"/i/([A-Za-z0-9_-]{32})", body)
    assert number and token

    # The customer opens it in another browser and comments (their address confirmed by an e-mailed code).
    customer_errors: list[str] = []
    customer = await _page(browser, customer_errors, width=390)
    await customer.goto(f"{origin}/i/{token.group(1)}")
    await expect(customer.get_by_role("heading", name=f"Invoice {number.group(0)}")).to_be_visible()
    await customer.get_by_label("Your name").fill("Lucie")
    await customer.get_by_label("Your e-mail address").fill(CUSTOMER)
    await customer.get_by_role("button", name="Send me a code").click()
    code = await mailbox.code_for(CUSTOMER, 2)
    await customer.get_by_label(f"6-digit code sent to {CUSTOMER}").fill(code)
    await customer.get_by_role("button", name="Confirm").click()
    await customer.evaluate("window.sameDocument = true")

    # Support watches the inbox while the comment is posted.
    support = await account(conn, ws, role="support")
    desk = await _page(browser, errors)
    await console_sign_in(desk, origin, conn, support.email)
    await expect(desk.get_by_role("heading", name="Inbox")).to_be_visible()
    await desk.evaluate("window.sameDocument = true")
    await customer.get_by_label("Your comment", exact=True).fill("Can you split the workshop into two sessions?")
    await customer.get_by_role("button", name="Post comment").click()
    item = desk.get_by_role("link", name=re.compile(number.group(0)))
    await expect(item).to_be_visible(timeout=5000)
    assert await desk.evaluate("window.sameDocument") is True

    await item.click()
    await expect(desk.get_by_text("Can you split the workshop into two sessions?")).to_be_visible()
    await desk.get_by_label("Your reply").fill("Yes: two half days, same total.")
    await desk.get_by_role("button", name="Send reply").click()
    await expect(customer.locator("#comment-list li", has_text="Yes: two half days, same total.")).to_be_visible(
        timeout=5000
    )
    assert await customer.evaluate("window.sameDocument") is True
    await mailbox.wait_for(CUSTOMER, 3)
    assert errors == [] and customer_errors == []


async def test_the_builder_finds_a_customer_beyond_the_first_without_losing_typing(
    origin: str, browser: Browser, conn: asyncpg.Connection
) -> None:
    draft = await factories.invoice(conn, issue=False)
    ws = draft.workspace
    for n in range(CUSTOMER_CHOICES + 5):
        await insert_customer(conn, workspace_id=ws.id, name=f"Acme {n:03d}")
    errors: list[str] = []
    page = await _page(browser, errors)
    await console_sign_in(page, origin, conn, (await account(conn, ws)).email)
    await page.goto(f"{origin}/console/invoices/{draft.invoice.id}")
    await page.evaluate("window.sameDocument = true")
    customer = page.get_by_label("Customer", exact=True)
    await expect(customer.locator("option:checked")).to_have_text("Customer SARL")

    # Typed, then a search at once (the autosave still in its pause): only the customer field changes.
    await page.get_by_label("Notes for the customer").fill("Thanks for your order.")
    await page.get_by_role("searchbox", name="Find a customer").fill("acme 204")
    await page.get_by_role("searchbox", name="Find a customer").press("Enter")
    await expect(customer.locator("option")).to_have_text(["Customer SARL", "Acme 204"])
    await expect(page.locator("#customer-field .hint")).to_have_text("Customers matching “acme 204”.")
    assert await page.evaluate("window.sameDocument") is True

    # The autosave posts the whole form, the notes typed before the search with it.
    chosen = await customer.locator("option", has_text="Acme 204").get_attribute("value")
    field = f"customer_id={chosen}"
    async with page.expect_response(lambda answer: field in (answer.request.post_data or "")) as saved:
        await customer.select_option(label="Acme 204")
    assert (await saved.value).ok
    await expect(page.locator("#draft-state")).to_have_text("All changes saved.")
    await page.reload()
    await expect(customer.locator("option:checked")).to_have_text("Acme 204")
    await expect(page.get_by_label("Notes for the customer")).to_have_value("Thanks for your order.")
    assert errors == []
