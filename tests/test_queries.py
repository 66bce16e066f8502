"""Query functions against the real database: issuing, snapshots, links, activity, constraints."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from db.activity import PDF_DOWNLOADED, insert_activity, insert_view_once, select_activity
from db.customers import select_customer
from db.invoices import insert_invoice, issue_invoice, void_invoice
from db.links import select_live_link
from db.payments import insert_settled_payment, select_succeeded_payments
from tests import factories
from tests.conftest import connect
from tests.queries import select_invoice
from web.invoices.links import token_hash


async def test_queries_issue_assigns_gapless_numbers_and_snapshots(conn: asyncpg.Connection) -> None:
    ws = await factories.workspace(conn)
    first = await factories.invoice(conn, ws=ws)
    second = await factories.invoice(conn, ws=ws)
    year = date.today().year
    assert (first.invoice.number, second.invoice.number) == (f"INV-{year}-0001", f"INV-{year}-0002")
    assert first.invoice.status == "open"
    assert first.invoice.seller_snapshot["tax_id"] == factories.SELLER_VAT
    assert first.invoice.buyer_snapshot["tax_id"] == factories.BUYER_VAT
    # Editing the customer later never changes the issued invoice.
    await conn.execute("UPDATE customers SET name = 'Renamed' WHERE id = $1", first.invoice.customer_id)
    again = await select_invoice(conn, first.invoice.id)
    assert again is not None and again.buyer_snapshot["legal_name"] == "Customer SARL"


async def test_queries_concurrent_issues_get_distinct_gapless_numbers(
    conn: asyncpg.Connection, database_url: str
) -> None:
    ws = await factories.workspace(conn)
    drafts = [await factories.invoice(conn, ws=ws, issue=False) for _ in range(8)]

    async def issue(invoice_id: int) -> str:
        c = await connect(database_url)
        try:
            invoice = await issue_invoice(c, invoice_id, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31))
            return invoice.number or ""
        finally:
            await c.close()

    numbers = await asyncio.gather(*(issue(d.invoice.id) for d in drafts))
    assert sorted(numbers) == [f"INV-2026-{n:04d}" for n in range(1, 9)]


async def test_queries_token_lookup_finds_only_live_links_to_issued_invoices(conn: asyncpg.Connection) -> None:
    live = await factories.invoice(conn)
    expired = await factories.invoice(conn, ws=live.workspace, expires_at=factories.yesterday())
    revoked = await factories.invoice(conn, ws=live.workspace, revoked=True)
    draft = await factories.invoice(conn, ws=live.workspace, issue=False)
    found = await select_live_link(conn, token_hash(live.token), datetime.now(UTC))
    assert found is not None and found[0].id == live.invoice.id and found[1] is None
    for dead in (expired, revoked, draft):
        assert await select_live_link(conn, token_hash(dead.token), datetime.now(UTC)) is None
    assert await select_live_link(conn, token_hash("x" * 32), datetime.now(UTC)) is None
    # The token is never compared directly: only its hash is indexed.
    stored = await conn.fetchval("SELECT token_hash FROM portal_links WHERE invoice_id = $1", live.invoice.id)
    assert stored == token_hash(live.token) and len(live.token) >= 22


async def test_queries_customer_lookup_is_scoped_to_workspace(conn: asyncpg.Connection) -> None:
    one = await factories.invoice(conn)
    other = await factories.workspace(conn, slug="other")
    assert await select_customer(conn, one.workspace.id, one.invoice.customer_id) is not None
    assert await select_customer(conn, other.id, one.invoice.customer_id) is None


async def test_queries_invoice_cannot_use_another_workspaces_customer(conn: asyncpg.Connection) -> None:
    one = await factories.invoice(conn)
    other = await factories.workspace(conn, slug="other")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await insert_invoice(
            conn, workspace_id=other.id, customer_id=one.invoice.customer_id, currency="EUR", locale="en"
        )


async def test_queries_void_bumps_version_and_records_reason(conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    voided = await void_invoice(conn, issued.invoice.id, "duplicate")
    assert voided is not None and voided.status == "void" and voided.void_reason == "duplicate"
    assert voided.version > issued.invoice.version
    assert await void_invoice(conn, issued.invoice.id, "again") is None


async def test_queries_payments_and_activity(conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    payment = await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=500, currency="EUR", method="bank_transfer"
    )
    assert [p.id for p in await select_succeeded_payments(conn, issued.invoice.id)] == [payment.id]
    with pytest.raises(asyncpg.CheckViolationError):
        await insert_settled_payment(
            conn, invoice_id=issued.invoice.id, amount=-1, currency="EUR", method="bank_transfer"
        )
    assert await insert_view_once(conn, issued.invoice.id) is True
    assert await insert_view_once(conn, issued.invoice.id) is False  # a reload within the window is the same visit
    await insert_activity(conn, issued.invoice.id, PDF_DOWNLOADED)
    kinds = [a.kind for a in await select_activity(conn, issued.invoice.id)]
    assert sorted(kinds) == ["payment_succeeded", "pdf_downloaded", "viewed"]  # the payment: logged by its trigger


async def test_queries_schema_refuses_due_before_issue(conn: asyncpg.Connection) -> None:
    draft = await factories.invoice(conn, issue=False)
    with pytest.raises(asyncpg.CheckViolationError):
        await issue_invoice(conn, draft.invoice.id, issue_date=date.today(), due_date=date.today() - timedelta(days=1))
    # The failed issue gave its number back: the next one is still 0001.
    done = await issue_invoice(conn, draft.invoice.id, issue_date=date.today(), due_date=date.today())
    assert done.number == f"INV-{date.today().year}-0001"
