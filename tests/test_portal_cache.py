"""The page cache never outlives the truth: database changes, link expiry and a lost listener all show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from bs4 import BeautifulSoup

from db.links import revoke_link, select_links_for_invoice
from db.payments import insert_settled_payment
from db.wording import replace_overrides
from tests import factories
from web.realtime import APPLICATION_NAME, ChangeFeed

Settle = Callable[[], Awaitable[None]]


def amount_paid(response: httpx.Response) -> str:
    page = BeautifulSoup(response.text, "html.parser")
    for term in page.select("#invoice-summary dl.facts dt"):
        if term.get_text(strip=True) == "Amount paid":
            return term.find_next_sibling("dd").get_text(strip=True)
    raise AssertionError("no amount paid")


async def test_portal_cache_serves_repeat_requests_without_the_database(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Settle
) -> None:
    issued = await factories.invoice(conn)
    # The app has heard of the invoice's making first: a notification arriving after the first request would
    # rightly drop what it cached (on a loaded machine it sometimes did).
    await settle()
    first = await client.get(issued.url)
    # Change the row with triggers off (no notification): only a cache would still show the old name.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute('UPDATE invoices SET buyer_snapshot = buyer_snapshot || \'{"legal_name": "Sneaky"}\'')
    await conn.execute("SET session_replication_role = DEFAULT")
    second = await client.get(issued.url)
    assert second.text == first.text and "Sneaky" not in second.text


async def test_portal_cache_drops_revoked_link(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Settle
) -> None:
    issued = await factories.invoice(conn)
    assert (await client.get(issued.url)).status_code == 200
    (link,) = await select_links_for_invoice(conn, issued.invoice.id)
    await revoke_link(conn, link.id)
    await settle()
    assert (await client.get(issued.url)).status_code == 404
    assert (await client.get(f"{issued.url}/pdf")).status_code == 404


async def test_portal_cache_shows_new_payment(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Settle
) -> None:
    issued = await factories.invoice(conn)
    assert amount_paid(await client.get(issued.url)) == "€0.00"
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=2500, currency="EUR", method="bank_transfer"
    )
    await settle()
    assert amount_paid(await client.get(issued.url)) == "€25.00"


async def test_portal_cache_respects_link_expiry_without_any_change(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn, expires_at=datetime.now(UTC) + timedelta(seconds=1.5))
    assert (await client.get(issued.url)).status_code == 200
    await asyncio.sleep(1.6)
    assert (await client.get(issued.url)).status_code == 404


async def test_portal_cache_is_bypassed_while_the_listener_is_down(
    client: httpx.AsyncClient, conn: asyncpg.Connection, change_feed: ChangeFeed
) -> None:
    issued = await factories.invoice(conn)
    assert amount_paid(await client.get(issued.url)) == "€0.00"
    # Kill the listening connection from the server side, as a database restart would.
    killed = await conn.fetchval(
        """
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()
        """,
        APPLICATION_NAME,
    )
    assert killed >= 1
    for _ in range(100):
        if not change_feed.connected:
            break
        await asyncio.sleep(0.01)
    assert not change_feed.connected
    # Changed while nobody listens: the page must still be right, so it is read from the database.
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=1000, currency="EUR", method="bank_transfer"
    )
    assert amount_paid(await client.get(issued.url)) == "€10.00"
    # The listener comes back by itself and starts from an empty cache.
    for _ in range(300):
        if change_feed.connected:
            break
        await asyncio.sleep(0.02)
    assert change_feed.connected
    assert amount_paid(await client.get(issued.url)) == "€10.00"


async def test_portal_cache_drops_one_workspace_when_its_wording_changes(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Settle
) -> None:
    """A workspace's new wording drops its own cached pages, and only those: other workspaces keep theirs."""
    mine = await factories.invoice(conn)
    other = await factories.invoice(conn, ws=await factories.workspace(conn, "other"))
    await settle()  # the making of both heard first: a late notification would rightly drop the cached pages
    for issued in (mine, other):
        assert (await client.get(issued.url)).status_code == 200
    await conn.execute("SET session_replication_role = replica")  # no notification: only a re-read shows it
    await conn.execute('UPDATE invoices SET buyer_snapshot = buyer_snapshot || \'{"legal_name": "Sneaky"}\'')
    await conn.execute("SET session_replication_role = DEFAULT")
    await replace_overrides(conn, mine.workspace.id, "en", {("Amount due", ""): "Balance"}, by="test")
    await settle()
    reread = await client.get(mine.url)
    assert "Sneaky" in reread.text and "Balance" in reread.text
    assert "Sneaky" not in (await client.get(other.url)).text  # still served from the cache
