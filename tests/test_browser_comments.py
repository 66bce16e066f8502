"""Two people on one invoice in headless Chromium: one confirms their address with the e-mailed code and posts,
the other sees the comment within a second without reloading; without EventSource it arrives by polling.
The name, address and draft are remembered on the device until "Forget me"."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.browser import live_server
from tests.mailbox import Mailbox
from tests.threads import CUSTOMER_EMAIL
from web.app import create_app
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def origin(settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection) -> AsyncIterator[str]:
    async with live_server(create_app(settings, pdf_renderer=pdf_renderer)) as url:
        yield url


async def _open(browser: Browser, url: str, *, without_event_source: bool = False) -> tuple[Page, list[str]]:
    context = await browser.new_context(locale="en-GB", viewport=PHONE)
    if without_event_source:
        await context.add_init_script("delete window.EventSource;")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await page.evaluate("window.loadedOnce = true")
    return page, errors


async def _verify_and_post(page: Page, mailbox: Mailbox, text: str) -> None:
    already = len(mailbox.to(CUSTOMER_EMAIL))
    await page.get_by_label("Your name").fill("Claire")
    await page.get_by_label("Your e-mail address").fill(CUSTOMER_EMAIL)
    await page.get_by_label("Your comment (posted once your address is confirmed)").fill(text)
    await page.get_by_role("button", name="Send me a code").click()
    code = await mailbox.code_for(CUSTOMER_EMAIL, already + 1)
    await page.get_by_label(f"6-digit code sent to {CUSTOMER_EMAIL}").fill(code)
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_label("Your comment", exact=True)).to_have_value(text)  # the draft survived
    await page.get_by_role("button", name="Post comment").click()


async def test_browser_comment_reaches_another_reader_live_and_by_polling(
    origin: str, browser: Browser, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    url = f"{origin}{issued.url}"
    writer, writer_errors = await _open(browser, url)
    reader, reader_errors = await _open(browser, url)
    poller, poller_errors = await _open(browser, url, without_event_source=True)
    await expect(reader.locator("#comments-tail")).to_be_attached()
    await reader.wait_for_function("document.querySelector('[sse-connect]') !== null")

    await _verify_and_post(writer, mailbox, "Could you add our PO number?\nIt is 4711.")
    posted_at = time.monotonic()
    seen = reader.locator("#comment-list li", has_text="Could you add our PO number?")
    await expect(seen).to_be_visible(timeout=1000)
    live_delay = time.monotonic() - posted_at
    assert live_delay < 1.0
    await expect(seen.locator(".comment-role")).to_have_text("Customer")
    assert await reader.evaluate("window.loadedOnce") is True  # no reload

    # The poller has no EventSource: the same comment arrives through the polling fallback.
    await expect(poller.locator("#comment-list li", has_text="Could you add our PO number?")).to_be_visible(
        timeout=6000
    )
    assert await poller.evaluate("typeof window.EventSource") == "undefined"
    assert await poller.evaluate("window.loadedOnce") is True

    # The writer sees their comment exactly once (the post's answer and the doorbell's fetch both bring it).
    await writer.wait_for_timeout(500)
    await expect(writer.locator("#comment-list li")).to_have_count(1)
    await expect(writer.get_by_label("Your comment", exact=True)).to_have_value("")

    # A draft is kept on the device across a reload; "Forget me" clears it and signs the writer out.
    await writer.get_by_label("Your comment", exact=True).fill("Half-written thought")
    await writer.reload()
    await expect(writer.get_by_label("Your comment", exact=True)).to_have_value("Half-written thought")
    await writer.get_by_role("button", name="Forget me on this device").click()
    await expect(writer.get_by_role("button", name="Send me a code")).to_be_visible()
    assert await writer.evaluate("Object.keys(localStorage).filter(k => k.startsWith('invoice-portal.')).length") == 0
    await writer.reload()
    await expect(writer.get_by_label("Your e-mail address")).to_have_value("")

    for page in (writer, reader, poller):
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert writer_errors == reader_errors == poller_errors == []
    for page in (writer, reader, poller):
        await page.context.close()
