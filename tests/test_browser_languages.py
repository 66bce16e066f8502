"""The language picker in Chromium: switching to Arabic turns the page right to left without losing a comment
draft the reader typed; Arabic and Japanese fit a phone and a desktop without sideways scrolling (screenshots in
test-artifacts/languages for a person to look at)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.a11y import SCREENSHOTS_WANTED
from tests.browser import live_server
from tests.mailbox import Mailbox
from web.app import create_app
from web.i18n.catalogs import texts_for
from web.pdf import PdfRenderer
from web.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.browser
SHOTS = PROJECT_ROOT / "test-artifacts" / "languages"
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Amounts and their headings that do not fit inside their card (a table wider than its frame gets cut off there).
_CLIPPED_AMOUNTS = """[...document.querySelectorAll('.num, .amount-due-value')].filter(e => {
  const box = e.getBoundingClientRect(), frame = e.closest('.document-frame, .card').getBoundingClientRect();
  return e.scrollWidth > e.clientWidth + 1 || box.left < frame.left - 0.5 || box.right > frame.right + 0.5;
}).map(e => e.textContent.trim())"""


@pytest.fixture
async def origin(settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection) -> AsyncIterator[str]:
    async with live_server(create_app(settings, pdf_renderer=pdf_renderer)) as url:
        yield url


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == [], errors


async def _choose(page: Page, language: str, current: str = "en") -> None:
    await page.get_by_label(texts_for(current).gettext("Language")).select_option(language)
    await page.get_by_role("button", name=texts_for(current).gettext("Change language")).click()
    await expect(page.locator("html")).to_have_attribute("lang", language)


async def test_picker_switches_to_arabic_keeping_the_comment_draft(
    origin: str, page: Page, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn, locale="en")
    await page.goto(f"{origin}{issued.url}")
    await page.get_by_label("Your name").fill("Layla")
    await page.get_by_label("Your e-mail address").fill("ap@customer.example")
    await page.get_by_label("Your comment (posted once your address is confirmed)").fill("Is the VAT ID right?")
    await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_label("6-digit code sent to ap@customer.example").fill(
        await mailbox.code_for("ap@customer.example")
    )
    await page.get_by_role("button", name="Confirm").click()
    draft = page.get_by_label("Your comment", exact=True)
    await expect(draft).to_have_value("Is the VAT ID right?")
    await draft.fill("Is the VAT ID right? Our number changed.")

    await _choose(page, "ar")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    arabic = texts_for("ar")
    await expect(page.get_by_role("heading", level=2, name=arabic.gettext("Summary"))).to_be_visible()
    await expect(page.get_by_label(arabic.gettext("Your comment"), exact=True)).to_have_value(
        "Is the VAT ID right? Our number changed."
    )
    # The English document stays left to right inside the right-to-left page, and says it is English.
    await expect(page.locator("article.invoice-doc")).to_have_attribute("dir", "ltr")
    await page.get_by_role("button", name=arabic.gettext("Post comment")).click()
    await expect(page.locator("#comment-list li", has_text="Our number changed.")).to_be_visible()


@pytest.mark.parametrize("language", ["ar", "ja"])
async def test_arabic_and_japanese_fit_a_phone_and_a_desktop(
    origin: str, page: Page, conn: asyncpg.Connection, language: str
) -> None:
    issued = await factories.invoice(
        conn, locale=f"{language}", currency="JPY" if language == "ja" else "KWD",
        lines=[factories.line("Freight forwarding, Jebel Ali to Yokohama, 40ft container", "3", 1234567, "5"),
               factories.line("Handling", "1", 25000, "0")],
    )  # fmt: skip
    await page.goto(f"{origin}{issued.url}")
    await _choose(page, language)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        assert await page.evaluate(_OVERFLOW) <= 0, f"{language} at {width}px scrolls sideways"
        # Amounts stay whole and inside their card: none cut off by a table wider than its frame.
        assert await page.evaluate(_CLIPPED_AMOUNTS) == [], f"{language} at {width}px"
        if SCREENSHOTS_WANTED:
            await page.screenshot(path=str(SHOTS / f"{language}-{width}.png"), full_page=True)
