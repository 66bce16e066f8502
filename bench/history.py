"""Billing history benchmark (`make bench`): a customer with thousands of invoices opens their history.

A fresh database on the system PostgreSQL (`invoice_portal_bench_history`) with the demo data, plus one customer
address with N issued invoices (two lines each, a mix of open, paid and overdue, spread over five years) and a
signed-in history session for it; one uvicorn worker for the portal and one for a bare Starlette app. Then,
sequentially on one keep-alive connection each:
- bare Starlette GET / (the floor of any request here);
- GET /billing/demo: the newest 25 and what is due now (every unpaid invoice of the address summed);
- the same page 100 pages deep (keyset paging: the cursor of the previous page);
- filtered to paid, and searched by a part of a number.

Usage: .venv/bin/python -m bench.history [--invoices N] [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
from decimal import Decimal

import asyncpg

from bench.payments import connection, report, request, timed
from bench.portal import bench_database, prepare, start_bare_and_portal
from web.invoices.links import token_hash
from web.invoices.totals import LineAmounts, compute_totals

BENCH_DB = "invoice_portal_bench_history"
# Every bulk invoice has the same two lines (1 × 100.01 at 19 %, 2 × 100.02 at 7 %): issued, its total is stored
# as Send stores it, computed by the document's own rules.
_TOTAL = compute_totals(
    [LineAmounts(Decimal(1), 10001, Decimal(19)), LineAmounts(Decimal(2), 10002, Decimal(7))], "EUR"
).total
ADDRESS = "ap@bulk.example"


async def many_invoices(url: str, count: int) -> tuple[str, str]:
    """N issued invoices for one address of the demo workspace, and a history session for it; (cookie, a number)."""
    conn = await asyncpg.connect(url)
    try:
        workspace_id = await conn.fetchval("SELECT id FROM workspaces WHERE slug = 'demo'")
        customer_id = await conn.fetchval(
            "INSERT INTO customers (workspace_id, name, email) VALUES ($1, 'Bulk Buyer Ltd', $2) RETURNING id",
            workspace_id, ADDRESS,
        )  # fmt: skip
        ids = await conn.fetch(
            """
            INSERT INTO invoices (workspace_id, customer_id, currency, locale)
            SELECT $1, $2, 'EUR', 'en' FROM generate_series(1, $3) RETURNING id
            """,
            workspace_id, customer_id, count,
        )  # fmt: skip
        invoice_ids = [record["id"] for record in ids]
        await conn.execute(
            """
            INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, tax_rate)
            SELECT id, n, 'Service ' || n, n, 10000 + n, CASE WHEN n = 1 THEN 19 ELSE 7 END
            FROM unnest($1::bigint[]) AS id, generate_series(1, 2) AS n
            """,
            invoice_ids,
        )
        await conn.execute(
            """
            UPDATE invoices i SET
                number = 'BULK-' || lpad(n::text, 6, '0'),
                status = CASE WHEN n % 3 = 0 THEN 'paid' ELSE 'open' END,
                paid_at = CASE WHEN n % 3 = 0 THEN now() END,
                issue_date = current_date - (($3 - n) * 1825 / $3)::int,
                due_date = current_date - (($3 - n) * 1825 / $3)::int + 30,
                issued_at = now(), issued_total = $4,
                seller_snapshot = '{"legal_name": "Demo"}', buyer_snapshot = '{"legal_name": "Bulk"}'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM unnest($1::bigint[]) AS id) ordered
            WHERE i.id = ordered.id AND i.workspace_id = $2
            """,
            invoice_ids, workspace_id, count, _TOTAL,
        )  # fmt: skip
        token = secrets.token_urlsafe(32)
        await conn.execute(
            """
            INSERT INTO customer_sessions (token_hash, workspace_id, email, created_at, expires_at)
            VALUES ($1, $2, $3, now(), now() + interval '1 day')
            """,
            token_hash(token), workspace_id, ADDRESS,
        )  # fmt: skip
        await conn.execute("ANALYZE")
        return f"billing_session_{workspace_id}={token}", f"BULK-{count // 2:06d}"
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=5000, help="invoices of the one address (default 5000)")
    parser.add_argument("--count", type=int, default=100, help="samples per measurement (default 100)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to see that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.invoices, args.count = 30, 3
    print(f"History benchmark: {os.cpu_count()} CPUs, {args.invoices} invoices, {args.count} sequential samples each")
    with bench_database(BENCH_DB, "history-bench-") as (url, workdir, servers):
        asyncio.run(prepare(url))
        cookie, number = asyncio.run(many_invoices(url, args.invoices))
        env = {**os.environ, "PDF_WORKERS": "1", "DATABASE_URL": url, "RECEIPT_MAIL_SECONDS": "0"}
        bare_server, portal_server = start_bare_and_portal(env, workdir, servers)
        bare, portal = connection(bare_server.base), connection(portal_server.base)

        def page(path: str) -> bytes:
            status, body = request(portal, "GET", path, Cookie=cookie, **{"Accept-Language": "en"})
            assert status == 200, (status, path)
            return body

        deep = "/billing/demo"
        for _ in range(min(100, args.invoices // 25 - 1)):  # walk to page 100 by the pages' own "Older" links
            body = page(deep).decode()
            marker = body.find("before=")
            assert marker > 0, "ran out of pages"
            deep = "/billing/demo?status=&q=&before=" + body[marker + 7 : body.find('"', marker)]
        for _ in range(20):  # warm both
            request(bare, "GET", "/")
            page("/billing/demo")

        floor = timed(args.count, lambda _: request(bare, "GET", "/"))
        report("bare Starlette GET /", floor)
        base = statistics.median(floor)
        for name, path in (
            ("GET /billing/demo (newest 25, due now)", "/billing/demo"),
            (f"the same, {min(100, args.invoices // 25 - 1)} pages deep", deep),
            ("filtered to paid", "/billing/demo?status=paid"),
            ("searched by number", f"/billing/demo?q={number}"),
        ):
            report(name, timed(args.count, lambda _, path=path: page(path)), base)  # type: ignore[misc]


if __name__ == "__main__":
    main()
