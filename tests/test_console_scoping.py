"""Workspace isolation and roles: a teammate of one workspace reaches nothing of another's, whatever id is in
the URL; support reads and answers but cannot change invoices, customers or settings."""

from __future__ import annotations

import re
from decimal import Decimal

import asyncpg
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in
from web.invoices.money import get_currency
from web.invoices.totals import LineAmounts, compute_totals, line_net
from web.routes import console_routes

ID_PARAMS = re.compile(r"\{(invoice_id|customer_id|link_id):id\}")
ROUTES = [
    (method, route.path)
    for route in console_routes()
    if isinstance(route, Route) and ID_PARAMS.search(route.path)
    for method in sorted(route.methods or ())
    if method != "HEAD"
]


async def _world(conn: asyncpg.Connection) -> tuple[factories.Issued, factories.Issued, dict[str, int]]:
    """Invoice and customer of workspace A, and a teammate of workspace B."""
    mine = await factories.invoice(conn, ws=await factories.workspace(conn, slug="other"))
    theirs = await factories.invoice(conn)
    ids = {
        "invoice_id": theirs.invoice.id,
        "customer_id": theirs.invoice.customer_id,
        "link_id": await conn.fetchval("SELECT id FROM portal_links WHERE invoice_id = $1", theirs.invoice.id),
    }
    return mine, theirs, ids


async def _fingerprint(conn: asyncpg.Connection, workspace_id: int) -> list[object]:
    return [
        [dict(r) for r in await conn.fetch("SELECT * FROM invoices WHERE workspace_id = $1 ORDER BY id", workspace_id)],
        [
            dict(r)
            for r in await conn.fetch("SELECT * FROM customers WHERE workspace_id = $1 ORDER BY id", workspace_id)
        ],
        [dict(r) for r in await conn.fetch("SELECT * FROM portal_links ORDER BY id")],
        await conn.fetchval("SELECT count(*) FROM payments"),
        await conn.fetchval("SELECT count(*) FROM comments"),
        await conn.fetchval("SELECT count(*) FROM activity"),
    ]


def test_every_console_route_with_an_id_is_in_the_isolation_test() -> None:
    assert len(ROUTES) >= 15, ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_another_workspace_gets_not_found_and_changes_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, method: str, path: str
) -> None:
    mine, theirs, ids = await _world(conn)
    staff = await account(conn, mine.workspace)
    csrf = await sign_in(client, conn, clock, staff.email)
    before = await _fingerprint(conn, theirs.workspace.id)
    url = ID_PARAMS.sub(lambda match: str(ids[match.group(1)]), path)
    data = {"csrf": csrf, "reason": "x", "amount": "1", "method": "bank_transfer", "comment_mode": "closed",
            "name": "Hijack", "locale": "en", "body": "hello", "email": "ap@customer.example", "expires_on": "",
            "client_key": "k" * 20, "customer_id": str(mine.invoice.customer_id)}  # fmt: skip
    answer = await client.request(method, url, data=data if method == "POST" else None)
    assert answer.status_code == 404, (url, answer.status_code)
    assert await _fingerprint(conn, theirs.workspace.id) == before


SUPPORT_REFUSED = [
    ("POST", "/console/customers"),
    ("POST", "/console/customers/{customer_id}"),
    ("POST", "/console/invoices"),
    ("POST", "/console/invoices/{invoice_id}/draft"),
    ("POST", "/console/invoices/{invoice_id}/void"),
    ("POST", "/console/invoices/{invoice_id}/uncollectible"),
    ("POST", "/console/invoices/{invoice_id}/payments"),
    ("POST", "/console/invoices/{invoice_id}/resend"),
    ("POST", "/console/invoices/{invoice_id}/links/new"),
    ("POST", "/console/invoices/{invoice_id}/links/{link_id}/revoke"),
    ("POST", "/console/invoices/{invoice_id}/access"),
    ("GET", "/console/customers/new"),
]


async def test_support_reads_but_cannot_change_invoices_or_customers(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    staff = await account(conn, issued.workspace, role="support")
    csrf = await sign_in(client, conn, clock, staff.email)
    ids = {
        "invoice_id": issued.invoice.id,
        "customer_id": issued.invoice.customer_id,
        "link_id": await conn.fetchval("SELECT id FROM portal_links WHERE invoice_id = $1", issued.invoice.id),
    }
    before = await _fingerprint(conn, issued.workspace.id)
    for method, path in SUPPORT_REFUSED:
        url = path.format(**ids)
        data = {"csrf": csrf, "reason": "x", "amount": "1", "method": "bank_transfer", "comment_mode": "closed",
                "name": "Changed", "locale": "en", "customer_id": str(ids["customer_id"])}  # fmt: skip
        answer = await client.request(method, url, data=data if method == "POST" else None)
        assert answer.status_code == 403, (url, answer.status_code)
        assert "support" in answer.text
    assert await _fingerprint(conn, issued.workspace.id) == before
    readable = (
        "/console/invoices",
        f"/console/invoices/{issued.invoice.id}",
        f"/console/customers/{ids['customer_id']}",
        f"/console/invoices/{issued.invoice.id}/preview",
    )
    for url in readable:
        page = await client.get(url)
        assert page.status_code == 200, url
        assert "Void invoice" not in page.text and "Record payment" not in page.text


_amounts = st.tuples(
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(7), Decimal(19), Decimal("7.7"), Decimal(20), Decimal(25)]),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_amounts, min_size=0, max_size=12), currency=st.sampled_from(["EUR", "JPY", "KWD", "ISK", "USD"]))
def test_totals_always_equal_the_sum_of_their_parts(lines: list[tuple[Decimal, int, Decimal]], currency: str) -> None:
    amounts = [LineAmounts(quantity, price, rate) for quantity, price, rate in lines]
    totals = compute_totals(amounts, currency)
    assert list(totals.line_nets) == [line_net(line, currency) for line in amounts]
    assert totals.net == sum(totals.line_nets) == sum(group.net for group in totals.tax_groups)
    assert totals.tax == sum(group.tax for group in totals.tax_groups)
    assert totals.total == totals.net + totals.tax
    for group in totals.tax_groups:
        same_rate = [net for line, net in zip(amounts, totals.line_nets, strict=True) if line.tax_rate == group.rate]
        assert group.net == sum(same_rate)
        # VAT per rate is the rate applied once to that rate's net, off by at most half a rounding step.
        assert abs(group.tax - group.net * group.rate / 100) * 2 <= get_currency(currency).rounding_step
