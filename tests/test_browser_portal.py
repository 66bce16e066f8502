"""A person in headless Chromium: open a demo link, switch to PDF preview and back, download the PDF,
and check the page at phone and desktop widths has no horizontal overflow."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, expect
from pypdf import PdfReader

from db.activity import select_activity
from db.links import select_live_link
from tests.a11y import SCREENSHOTS_WANTED
from tests.browser import live_server
from web.app import create_app
from web.dev.demo import load_demo
from web.invoices.links import token_hash
from web.pdf import PdfRenderer
from web.settings import PROJECT_ROOT, Settings

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture
async def origin(settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection) -> AsyncIterator[str]:
    async with live_server(create_app(settings, pdf_renderer=pdf_renderer)) as url:
        yield url


async def _demo_links(database_url: str) -> dict[str, str]:
    return dict(await load_demo(database_url))


async def test_browser_preview_modes_download_and_views(
    origin: str, browser: Browser, database_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    links = await _demo_links(database_url)
    context = await browser.new_context(accept_downloads=True, locale="en-US")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto(f"{origin}/i/{links['open']}")
    number = await page.locator(".doc-number").inner_text()
    await expect(page.locator("h1")).to_have_text(f"Invoice {number}")
    await expect(page.locator("#mode-document")).to_have_attribute("aria-current", "page")
    await expect(page.locator("article.invoice-doc")).to_be_visible()

    # Switch to the PDF preview: an htmx swap (no navigation), with its own URL pushed into history.
    await page.evaluate("window.__sameDocument = true")
    await page.locator("#mode-pdf").click()
    await expect(page.locator("#preview object[type='application/pdf']")).to_have_count(1)
    assert page.url.endswith("?view=pdf")
    assert await page.evaluate("window.__sameDocument === true"), "switching mode reloaded the page"
    await expect(page.locator("#mode-pdf")).to_have_attribute("aria-current", "page")

    # A reload keeps the mode, because the mode is in the URL.
    await page.reload()
    await expect(page.locator("#preview object[type='application/pdf']")).to_have_count(1)

    # And back to the live preview.
    await page.evaluate("window.__sameDocument = true")
    await page.locator("#mode-document").click()
    await expect(page.locator("#preview article.invoice-doc")).to_be_visible()
    assert page.url.endswith("?view=document")
    assert await page.evaluate("window.__sameDocument === true")

    # Download the PDF.
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download PDF").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("INV-") and download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    reader = PdfReader(io.BytesIO(saved.read_bytes()))
    assert download.suggested_filename[:-4] in reader.pages[0].extract_text()

    # The browser's beacon recorded one view (reloads within the window are one visit) and the download.
    found = await select_live_link(conn, token_hash(links["open"]), datetime.now(UTC))
    assert found is not None
    invoice = found[0]
    kinds = sorted(a.kind for a in await select_activity(conn, invoice.id))
    assert kinds == ["pdf_downloaded", "viewed"]
    assert errors == []
    await context.close()


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("label", ["open", "long", "kwd"])
async def test_browser_no_horizontal_overflow(
    origin: str, browser: Browser, database_url: str, width: int, label: str
) -> None:
    links = await _demo_links(database_url)
    context = await browser.new_context(viewport={"width": width, "height": 844})
    page = await context.new_page()
    for mode in ("document", "pdf"):
        await page.goto(f"{origin}/i/{links[label]}?view={mode}")
        scroll_width, client_width = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll_width <= client_width, f"{label} {mode} at {width}px overflows: {scroll_width} > {client_width}"
        if SCREENSHOTS_WANTED:  # for a person to look at (A11Y_SCREENSHOTS=1)
            if mode == "pdf":
                await page.wait_for_timeout(1500)  # let Chromium's PDF viewer paint before the screenshot
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=ARTIFACTS / f"portal-{label}-{mode}-{width}.png", full_page=True)
    await context.close()


async def test_browser_not_found_link(origin: str, browser: Browser, database_url: str) -> None:
    links = await _demo_links(database_url)
    context = await browser.new_context()
    page = await context.new_page()
    for label in ("expired", "revoked"):
        response = await page.goto(f"{origin}/i/{links[label]}")
        assert response is not None and response.status == 404
        await expect(page.locator("h1")).to_have_text("Invoice Not Found")
    await context.close()
