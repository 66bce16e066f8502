"""The public page's and PDF's cache hits answered in front of the framework (web/portal/cache_hits.py): the same
bytes and headers the views send, and only for requests whose answer depends on nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from db.links import revoke_link, select_links_for_invoice
from tests import factories
from tests.conftest import MovableClock, asgi_client
from web.app import PortalApp, create_app
from web.comments.form import SESSION_COOKIE
from web.dev.local_stripe import TokenCardId
from web.i18n.choice import LANGUAGE_COOKIE, LOCALE_HEADER
from web.pdf import PdfRenderer
from web.realtime import ChangeFeed
from web.settings import Settings

Settle = Callable[[], Awaitable[None]]


@dataclass
class Portal:
    client: httpx.AsyncClient
    app: PortalApp

    @property
    def served(self) -> int:
        assert self.app.cache_hits is not None, "no request has reached the app yet"
        return self.app.cache_hits.served


@pytest.fixture
async def portal(
    settings: Settings,
    pdf_renderer: PdfRenderer,
    change_feed: ChangeFeed,
    session_clock: MovableClock,
    conn: asyncpg.Connection,
) -> AsyncIterator[Portal]:
    app = create_app(
        settings, pdf_renderer=pdf_renderer, change_feed=change_feed, clock=session_clock, stripe_cards=TokenCardId()
    )
    assert isinstance(app, PortalApp)
    async with LifespanManager(app) as manager, asgi_client(manager) as client:
        yield Portal(client, app)


def same_answer(hit: httpx.Response, view: httpx.Response) -> None:
    assert hit.status_code == view.status_code == 200
    assert hit.headers.raw == view.headers.raw  # every header, in order, security headers included
    assert hit.content == view.content


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        ("?view=pdf", {}),
        ("?view=document", {"accept-language": "de-AT,de;q=0.9"}),
        ("", {"cookie": f"{LANGUAGE_COOKIE}=fr"}),
        ("", {LOCALE_HEADER: "es", "accept-language": "de"}),
    ],
)
async def test_a_page_hit_answers_what_the_view_answered(
    portal: Portal, conn: asyncpg.Connection, settle: Settle, query: str, headers: dict[str, str]
) -> None:
    issued = await factories.invoice(conn)
    await settle()  # the invoice's making heard first: its late notification would rightly drop the page
    view = await portal.client.get(issued.url + query, headers=headers)  # a miss: the view renders it
    before = portal.served
    hit = await portal.client.get(issued.url + query, headers=headers)
    assert portal.served == before + 1
    same_answer(hit, view)


async def test_a_page_hit_is_in_the_readers_language(portal: Portal, conn: asyncpg.Connection, settle: Settle) -> None:
    issued = await factories.invoice(conn)
    await settle()
    english = await portal.client.get(issued.url)
    for _ in range(2):  # the view's page, then the hit
        german = await portal.client.get(issued.url, headers={"cookie": f"{LANGUAGE_COOKIE}=de"})
        assert german.text != english.text and '<html lang="de' in german.text
    assert (await portal.client.get(issued.url)).text == english.text


async def test_a_pdf_hit_answers_what_the_view_answered(
    portal: Portal, conn: asyncpg.Connection, settle: Settle
) -> None:
    issued = await factories.invoice(conn)
    await settle()
    view = await portal.client.get(f"{issued.url}/pdf")
    before = portal.served
    hit = await portal.client.get(f"{issued.url}/pdf")
    assert portal.served == before + 1
    same_answer(hit, view)
    assert hit.content.startswith(b"%PDF")


async def test_cookies_split_over_several_fields_go_to_the_views(
    portal: Portal, conn: asyncpg.Connection, settle: Settle
) -> None:
    """HTTP/2 may send each cookie in its own field: the views read them all (a later one may choose the
    language or name a comment writer), so a hit of the first field's page would be the wrong page."""
    issued = await factories.invoice(conn)
    await settle()
    split = [("cookie", "theme=dark"), ("cookie", f"{LANGUAGE_COOKIE}=de")]
    german = await portal.client.get(issued.url, headers=split)
    assert '<html lang="de' in german.text
    assert '<html lang="de' not in (await portal.client.get(issued.url)).text  # the English page is cached too
    before = portal.served
    again = await portal.client.get(issued.url, headers=split)
    assert portal.served == before and again.text == german.text


@pytest.mark.parametrize(
    ("suffix", "headers"),
    [
        ("", {"hx-request": "true"}),  # the preview fragment
        ("", {"cookie": f"{SESSION_COOKIE}=anything"}),  # a comment writer may get their own form
        ("?embed=acme", {}),  # framed by a host app: its own CSP
        ("?locale=de", {}),
        ("?view=document&x=1", {}),
        ("/pdf?download=1", {}),  # recorded as a download
        ("/pdf", {"content-length": "0"}),  # a body: the views' limits apply
    ],
)
async def test_requests_the_views_must_answer_go_to_them(
    portal: Portal, conn: asyncpg.Connection, settle: Settle, suffix: str, headers: dict[str, str]
) -> None:
    issued = await factories.invoice(conn)
    await settle()
    for warm in (issued.url, f"{issued.url}/pdf"):
        assert (await portal.client.get(warm)).status_code == 200
    before = portal.served
    for _ in range(2):
        assert (await portal.client.get(issued.url + suffix, headers=headers)).status_code == 200
    assert (await portal.client.head(issued.url)).status_code == 200
    assert portal.served == before


async def test_no_hit_for_a_link_that_expired_or_was_revoked(
    portal: Portal, conn: asyncpg.Connection, settle: Settle, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn, expires_at=clock() + timedelta(days=1))
    await settle()
    for path in (issued.url, f"{issued.url}/pdf"):
        assert (await portal.client.get(path)).status_code == 200
    before = portal.served
    clock.offset = timedelta(days=1, seconds=1)
    for path in (issued.url, f"{issued.url}/pdf"):
        assert (await portal.client.get(path)).status_code == 404
    assert portal.served == before
    clock.offset = timedelta(0)
    (link,) = await select_links_for_invoice(conn, issued.invoice.id)
    await revoke_link(conn, link.id)
    await settle()
    for path in (issued.url, f"{issued.url}/pdf"):
        assert (await portal.client.get(path)).status_code == 404
    assert portal.served == before
