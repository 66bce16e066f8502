"""Live server and headless Chromium for browser tests (async Playwright on the session loop)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, FrameLocator, Page, async_playwright, expect
from starlette.applications import Starlette

from tests.live import free_port
from web.app import create_app
from web.dev.local_stripe import TokenCardId, flush, register_webhook
from web.pdf import PdfRenderer
from web.settings import Settings

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        # Outside CI a missing browser skips; in CI conftest turns the skip into a failure.
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    return path


@contextlib.asynccontextmanager
async def live_server(app: Starlette, port: int = 0) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a pre-bound 127.0.0.1 socket in this event loop; yield its origin. `port`: one
    chosen beforehand (an app whose BASE_URL must name it), else any free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def live_server_with_webhooks(app: Starlette, stripe_base: str, secret: str, name: str) -> AsyncIterator[str]:
    """`live_server`, with localstripe (flushed first) sending it signed webhooks, as `make demo` wires it."""
    flush(stripe_base)
    async with live_server(app) as url:
        register_webhook(stripe_base, f"{url}/webhooks/stripe", secret, name=name)
        try:
            yield url
        finally:
            # localstripe cannot forget a webhook; an empty event list silences it for the rest of the run.
            register_webhook(stripe_base, f"{url}/webhooks/stripe", secret, name=name, events=[])


@contextlib.asynccontextmanager
async def live_portal(settings: Settings, pdf_renderer: PdfRenderer, **changes: Any) -> AsyncIterator[str]:
    """The portal (wired to the Stripe double) on a port of its own that its BASE_URL names, so a webhook endpoint
    it creates at Stripe points back at it; `changes` to the settings."""
    port = free_port()
    served = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{port}", **changes)
    async with live_server(create_app(served, pdf_renderer=pdf_renderer, stripe_cards=TokenCardId()), port) as url:
        yield url


async def connect_stripe(page: Page, origin: str, account: dict[str, Any]) -> None:
    """A signed-in billing teammate pastes the account's keys in Settings → Stripe and connects."""
    await page.goto(f"{origin}/console/settings")
    section = page.locator("#stripe-status")
    await section.get_by_label("Secret key or restricted key").fill(account["secret_key"])
    await section.get_by_label("Publishable key").fill(account["publishable_key"])
    await section.get_by_role("button", name="Connect Stripe").click()
    await expect(page.locator(".notice")).to_contain_text("Stripe is connected")


CARD_INPUTS = "#card-element input"


async def enter_card(page: Page | FrameLocator, number: str) -> None:
    """localstripe's card Element is four plain inputs (the real one is Stripe's iframe)."""
    await page.locator(f"{CARD_INPUTS}[placeholder=number]").fill(number)
    await page.locator(f"{CARD_INPUTS}[placeholder=exp_month]").fill("12")
    await page.locator(f"{CARD_INPUTS}[placeholder=exp_year]").fill("34")
    await page.locator(f"{CARD_INPUTS}[placeholder=cvc]").fill("123")


async def start_payment(page: Page | FrameLocator, amount: str) -> None:
    """Type an amount and continue to the card step."""
    await page.locator("#payment-amount").fill(amount)
    await page.get_by_role("button", name="Continue to card details").click()
    await expect(page.locator(f"{CARD_INPUTS}[placeholder=number]")).to_be_visible()
