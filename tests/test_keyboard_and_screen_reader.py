"""A customer with the keyboard alone, and what a screen reader is told, in headless Chromium.

Keyboard: skip link, switching to the PDF preview and back, asking for a comment code, posting, a wrong amount and
the card step, with Tab, Shift+Tab, Enter and Space only. Every control reached shows a focus ring of at least 2 px
and 3:1 against what is behind it, inside the window; after every htmx swap focus is on the swapped region's
heading, its first error, or the field to use next, never back at the top of the page.

Screen reader: the live regions of two open pages are watched while a customer pays by card and the billing team
answers a comment; each change is heard once, on both pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from db.comments import insert_comment
from tests.browser import enter_card, live_server_with_webhooks, start_payment
from tests.conftest import WEBHOOK_SECRET
from tests.mailbox import Mailbox
from tests.queries import demo_invoice_id
from web.app import create_app
from web.dev.demo import load_demo
from web.dev.local_stripe import TokenCardId
from web.i18n.catalogs import texts_for
from web.pdf import PdfRenderer
from web.settings import Settings

pytestmark = pytest.mark.browser
WRITER = "kai@globex.example"

# What has focus, and how its focus indicator looks against the nearest opaque background behind it.
_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  let behind = el.parentElement, background = "rgb(255, 255, 255)";
  while (behind) {
    const color = getComputedStyle(behind).backgroundColor;
    if (color && color !== "transparent" && !color.endsWith(", 0)")) { background = color; break; }
    behind = behind.parentElement;
  }
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: (el.getAttribute("aria-label") || el.textContent || el.value || "")
      .trim().slice(0, 60),
    ring: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth), ringColor: style.outlineColor, background,
    inWindow: box.bottom > 0 && box.top < window.innerHeight && box.right > 0 && box.left < window.innerWidth,
  };
}"""


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def focused(page: Page) -> dict[str, Any]:
    state: dict[str, Any] | None = await page.evaluate(_FOCUS)
    assert state is not None, "keyboard focus was lost (it is on the page itself)"
    return state


async def assert_focus_visible(page: Page) -> dict[str, Any]:
    state = await focused(page)
    where = f"{state['tag']}#{state['id']} {state['name']!r}"
    assert state["ring"] >= 2, f"no visible focus ring on {where}"
    assert contrast(state["ringColor"], state["background"]) >= 3, f"focus ring of {where} is too faint: {state}"
    assert state["inWindow"], f"{where} has focus outside the window"
    return state


async def tab_to(page: Page, selector: str, *, backwards: bool = False, most: int = 60) -> None:
    """Press Tab (or Shift+Tab) until `selector` has focus, checking the focus ring of every stop on the way."""
    for _ in range(most):
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
        await assert_focus_visible(page)
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached in {most} presses")


async def assert_focus_on(page: Page, selector: str) -> None:
    try:
        await expect(page.locator(selector)).to_be_focused()
    except AssertionError as error:
        active = await page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
        raise AssertionError(f"focus is on {active}, not {selector}") from error


@pytest.fixture
async def origin(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection, stripe_base: str
) -> AsyncIterator[str]:
    app = create_app(settings, pdf_renderer=pdf_renderer, stripe_cards=TokenCardId())
    async with live_server_with_webhooks(app, stripe_base, WEBHOOK_SECRET, "a11y-test") as url:
        yield url


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        locale="en-GB", viewport={"width": 1280, "height": 900}, reduced_motion="reduce"
    )
    yield context
    await context.close()


async def test_keyboard_only_customer_previews_comments_and_reaches_the_card_step(
    origin: str, context: BrowserContext, database_url: str, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    links = dict(await load_demo(database_url))
    await context.add_init_script(_LISTEN)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{origin}/i/{links['open']}")

    # The first Tab shows the skip link; Enter takes focus past the header to the content.
    await page.keyboard.press("Tab")
    skip = await assert_focus_visible(page)
    assert skip["name"] == "Skip to content"
    await page.keyboard.press("Enter")
    await assert_focus_on(page, "main#main")

    # The PDF preview and back: each swap keeps focus on the switch that was used.
    await tab_to(page, "#mode-pdf")
    await page.keyboard.press("Enter")
    await expect(page.locator("#preview object[type='application/pdf']")).to_be_attached()
    await assert_focus_on(page, "#mode-pdf")
    await expect(page.locator("#mode-pdf")).to_have_attribute("aria-current", "page")
    await tab_to(page, "#mode-document", backwards=True)
    await page.keyboard.press("Enter")
    await expect(page.locator("#preview article.invoice-doc")).to_be_visible()
    await assert_focus_on(page, "#mode-document")

    # The comment code: the form asks again with the mistake focused, then moves focus to the code field.
    await tab_to(page, "#comment-name")
    await page.keyboard.type("Kai Berger")
    await page.keyboard.press("Tab")
    await page.keyboard.type("kai at globex")
    await tab_to(page, "#comment-body")
    await page.keyboard.type("Is the workshop on site?")
    await tab_to(page, "#comment-form button[type=submit]")
    await page.keyboard.press("Space")
    await expect(page.locator("#comment-error")).to_be_visible()
    await assert_focus_on(page, "#comment-email[aria-invalid=true]")
    await page.keyboard.press("Control+A")
    await page.keyboard.type(WRITER)
    await tab_to(page, "#comment-form button[type=submit]")
    await page.keyboard.press("Space")
    await assert_focus_on(page, "#comment-code")
    await page.keyboard.type(await mailbox.code_for(WRITER))
    await page.keyboard.press("Enter")
    await assert_focus_on(page, "#comment-body")
    await expect(page.locator("#comment-body")).to_have_value("Is the workshop on site?")  # the draft came along

    # Post: the comment appears, the reader hears it went out, and the empty form is ready for the next one. The
    # answer is held back 1.5 s, so the event stream's copy of the comment lands first: the reader must still hear
    # "posted" once, never "new comment from" themselves.
    async def answer_late(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        await asyncio.sleep(1.5)
        await route.fulfill(response=response)

    await page.route(lambda url: url.endswith("/comments"), answer_late)
    await tab_to(page, "#comment-form button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.locator("#comment-list li", has_text="Is the workshop on site?")).to_be_visible()
    await assert_focus_on(page, "#comment-body")
    await expect(page.locator("#announcer")).to_have_text("Your comment was posted.")
    await page.wait_for_timeout(500)
    await expect(page.locator("#comment-list li", has_text="Is the workshop on site?")).to_have_count(1)
    assert [text for text in await heard(page) if "comment" in text.lower()] == ["Your comment was posted."]

    # Back up to the payment card: a wrong amount focuses the field with its message; a good one the card step.
    await tab_to(page, "#payment-amount", backwards=True)
    await page.keyboard.press("Control+A")
    await page.keyboard.type("12,34,5")
    await page.keyboard.press("Enter")
    await expect(page.locator("#payment-amount-error")).to_be_visible()
    await assert_focus_on(page, "#payment-amount[aria-invalid=true]")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("100.00")
    await page.keyboard.press("Enter")
    await expect(page.locator("#payment-heading")).to_have_text("Pay €100.00 by card")
    await assert_focus_on(page, "#payment-heading")
    await expect(page.locator("#card-element input").first).to_be_visible()  # Stripe.js mounts it after loading
    await tab_to(page, "#card-element input", most=3)
    assert await page.evaluate("document.getAnimations().length") == 0  # nothing moves for who asked for less motion
    assert errors == []


# Everything the page's live regions say, in order: text a polite or assertive region (or a status, alert or log)
# takes on, and alerts inserted with their text. Installed before the page's own scripts run.
_LISTEN = """
window.__heard = [];
document.addEventListener("DOMContentLoaded", () => {
  const LIVE = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
  new MutationObserver((mutations) => {
    const regions = new Set();
    for (const m of mutations) {
      const node = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      const region = node && node.closest(LIVE);
      if (region) regions.add(region);
      for (const added of m.addedNodes) {
        if (added.nodeType === 1) added.querySelectorAll('[role="alert"]').forEach((a) => regions.add(a));
        if (added.nodeType === 1 && added.matches('[role="alert"]')) regions.add(added);
      }
    }
    for (const region of regions) {
      const text = region.textContent.trim().replace(/\\s+/g, " ");
      if (text) window.__heard.push(text);
    }
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
});
"""


async def heard(page: Page) -> list[str]:
    return await page.evaluate("window.__heard")


async def test_screen_readers_hear_a_payment_and_a_new_comment_once(
    origin: str, context: BrowserContext, database_url: str, conn: asyncpg.Connection
) -> None:
    links = dict(await load_demo(database_url))
    await context.add_init_script(_LISTEN)
    payer, watcher = await context.new_page(), await context.new_page()
    for page in (payer, watcher):
        await page.goto(f"{origin}/i/{links['partial']}")
    await watcher.wait_for_function("document.querySelector('[sse-connect]') !== null")

    # The document's table and the PDF preview are named for assistive technology (in the invoice's language).
    table = payer.get_by_role("table", name=texts_for("de").gettext("Invoice lines"))
    await expect(table.get_by_role("columnheader")).to_have_count(5)

    await start_payment(payer, "100.00")
    await enter_card(payer, "4242424242424242")
    await payer.get_by_role("button", name="Pay €100.00").click()
    # The result takes focus (so it is read at once) and describes itself with the paragraph under it.
    await assert_focus_on(payer, "#payment-heading")
    await expect(payer.locator("#payment-heading")).to_have_accessible_description(
        "Your card payment of €100.00 went through. The amount due on this page updates in a moment."
    )
    for page in (payer, watcher):  # the webhook lands about a second later
        await expect(page.locator(".amount-due-value")).to_have_text("€3,302.58", timeout=15_000)
    await payer.wait_for_timeout(1500)  # any late or repeated announcement would arrive meanwhile
    update = "Invoice updated. Amount due: €3,302.58. Status: Partially paid."
    for page in (payer, watcher):
        assert [text for text in await heard(page) if "3,302.58" in text] == [update]

    # A refresh that changed nothing (204) while the watcher was on "Download PDF" leaves no trace: once the
    # watcher has moved on (focus on the page, scrolled down), a later swap elsewhere must not pull focus up there.
    await watcher.locator("#download-pdf").focus()
    async with watcher.expect_response(lambda r: "/summary" in r.url and r.status == 204):
        await watcher.evaluate("htmx.trigger(document.body, 'portal:poll')")
    await watcher.evaluate("document.activeElement.blur(); window.scrollTo(0, document.body.scrollHeight)")
    scrolled = await watcher.evaluate("window.scrollY")

    # The billing team answers in the thread: both pages hear who wrote, once.
    before = {id(page): len(await heard(page)) for page in (payer, watcher)}
    await insert_comment(
        conn, invoice_id=await demo_invoice_id(conn, "partial"), author_role="staff", author_name="Sam",
        author_email="", body="Thank you, received.", client_key="a11y-staff-reply-1",
    )  # fmt: skip
    for page in (payer, watcher):
        await expect(page.locator("#comment-list li", has_text="Thank you, received.")).to_be_visible(timeout=5000)
    await payer.wait_for_timeout(1000)
    for page in (payer, watcher):
        assert (await heard(page))[before[id(page)] :] == ["New comment from Sam (Billing team)."]
    assert await watcher.evaluate("document.activeElement === document.body && window.scrollY") == scrolled

    # The PDF preview has a text alternative.
    number = (await watcher.locator(".doc-number").inner_text()).strip()
    await watcher.get_by_role("link", name="PDF preview").click()
    await expect(watcher.locator("#preview object")).to_have_accessible_name(f"PDF of invoice {number}")
