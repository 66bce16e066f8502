"""The embed in a real Chromium that blocks third-party cookies (issue 17): a host app on one origin (localhost)
embeds the portal from another (127.0.0.1) with embed.js and a hash its server computed; the customer sees their
invoices, opens one, pays part of it and comments inside the frame (no code: the host vouched for the address),
downloads a PDF, and the host's callback receives each event. A host on
an origin the workspace did not list gets no frame."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from playwright.async_api import Page, async_playwright, expect

from db.embed import rotate_embed_secret, save_allowed_origins
from tests import factories
from tests.browser import CHROMIUM_ARGS, chromium_path, enter_card, live_portal, live_server, start_payment
from tests.live import free_port
from tests.sealed import BOX
from web.dev.embed_host import host_app
from web.pdf import PdfRenderer
from web.settings import Settings

SECRET = "es_browser_test_secret_0123456789abcdef"
CUSTOMER = "ap@customer.example"


@contextlib.asynccontextmanager
async def third_party_cookies_blocked() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"]
        )
        try:
            context = await browser.new_context(locale="en-GB")
            yield await context.new_page()
        finally:
            await browser.close()


async def wait_for_event(page: Page, kind: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds * 20)):
        if kind in await events(page):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event; got {await events(page)}")


async def events(page: Page) -> list[str]:
    found: list[dict[str, Any]] = await page.evaluate("window.events")
    return [event["type"] for event in found]


async def test_a_host_app_embeds_the_history_without_cookies(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection
) -> None:
    ws = await factories.workspace(conn, slug="north")
    issued = await factories.invoice(conn, ws=ws)
    host_port, stranger_port = free_port(), free_port()
    now = await conn.fetchval("SELECT now()")
    await rotate_embed_secret(
        conn, ws.id, sealed=BOX.seal(SECRET), last4=SECRET[-4:], now=now, grace_until=now, by="test"
    )  # fmt: skip
    await save_allowed_origins(conn, ws.id, [f"http://localhost:{host_port}"])
    async with (
        live_portal(settings, pdf_renderer) as portal,
        live_server(host_app(portal, "north", SECRET, CUSTOMER), host_port),
        live_server(host_app(portal, "north", SECRET, CUSTOMER), stranger_port),
        third_party_cookies_blocked() as page,
    ):
        await page.goto(f"http://localhost:{host_port}/")
        frame = page.frame_locator("#billing iframe")
        item = frame.locator(f'[data-invoice-number="{issued.invoice.number}"]')
        await expect(item).to_be_visible()
        await wait_for_event(page, "loaded")
        assert "resize" in await events(page)
        assert await page.context.cookies() == []  # nothing was stored, by anyone

        await item.get_by_role("link", name=f"Invoice {issued.invoice.number}", exact=True).click()
        await expect(frame.get_by_role("heading", name=f"Invoice {issued.invoice.number}")).to_be_visible()
        await wait_for_event(page, "invoice_opened")
        await start_payment(frame, "50.00")
        await enter_card(frame, "4242424242424242")
        await frame.get_by_role("button", name="Pay €50.00").click()
        await wait_for_event(page, "payment_succeeded")
        assert "payment_started" in await events(page)

        # The host vouched for the address: the thread takes a comment with no code step, and no cookie.
        await frame.get_by_label("Your comment", exact=True).fill("Paid half today, the rest on Friday.")
        await frame.get_by_role("button", name="Post comment").click()
        await expect(frame.locator("#comment-list")).to_contain_text("Paid half today, the rest on Friday.")
        await wait_for_event(page, "comment_posted")
        assert await page.context.cookies() == []

        # Back to the list: the frame asks the host for the identity again (the token lived in the page's memory).
        await frame.get_by_role("link", name="All your invoices").click()
        await expect(frame.locator(f'[data-invoice-number="{issued.invoice.number}"]')).to_be_visible()
        async with page.expect_download() as downloading:
            await frame.get_by_role("link", name=f"Download PDF (Invoice {issued.invoice.number})").click()
        assert (await downloading.value).suggested_filename.endswith(".pdf")
        await wait_for_event(page, "pdf_downloaded")

        # An origin the workspace did not list: the browser refuses to frame the portal; no event ever comes.
        stranger = await page.context.new_page()
        await stranger.goto(f"http://localhost:{stranger_port}/")
        await stranger.wait_for_timeout(1500)
        assert await events(stranger) == []
        assert await stranger.frame_locator("#billing iframe").locator("#main").count() == 0
