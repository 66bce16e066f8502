"""The plans of the hot queries, as the app runs them: the db functions themselves, on a connection with
PostgreSQL's auto_explain (EXPLAIN ANALYZE with BUFFERS for every statement, sent back as a notice), so the plan
shown is that of the SQL the app sends with the parameters it binds. Key lines only: each scan, sort and join,
and the statement's time."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg

from db.comments import select_comments
from db.customers import select_customers
from db.inbox import select_open_threads
from db.invoice_list import InvoiceListQuery, select_invoice_rows
from db.rows import init_connection
from web.console.listing import amount_search

# Plan nodes that read or order rows, what the index was asked, and the first (the statement's) buffer count.
_KEY_LINE = re.compile(r"^(->\s+)?\S.*(Scan|Sort|Join|Nested Loop|Limit)\b.*\(cost|Index Cond|Recheck Cond")


async def print_plans(url: str, workspace_id: int, whole_name: str) -> None:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    plans: list[str] = []
    conn.add_log_listener(lambda _conn, message: plans.append(str(message.message)))
    try:
        # Superuser only (the system server's postgres role): a per-session LOAD of the contrib module.
        await conn.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_analyze = on", "log_buffers = on", "log_timing = on",
                        "log_nested_statements = on", "log_level = notice"):  # fmt: skip
            await conn.execute(f"SET auto_explain.{setting}")
        row = await conn.fetchrow(
            "SELECT id, number, issued_total FROM invoices WHERE workspace_id = $1 AND number LIKE 'BIG-%'"
            " ORDER BY created_at LIMIT 1",
            workspace_id,
        )
        deep = await conn.fetchval(  # three quarters down the list (newest first)
            "SELECT id FROM invoices WHERE workspace_id = $1 ORDER BY created_at LIMIT 1"
            " OFFSET (SELECT count(*) / 4 FROM invoices WHERE workspace_id = $1)",
            workspace_id,
        )
        deep_customer = await conn.fetchval(
            "SELECT id FROM customers WHERE workspace_id = $1 ORDER BY lower(name) DESC LIMIT 1"
            " OFFSET (SELECT count(*) / 4 FROM customers WHERE workspace_id = $1)",
            workspace_id,
        )
        thread = await conn.fetchval("SELECT invoice_id FROM comments GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        amount = f"{Decimal(row['issued_total']) / 100:.2f}"
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "invoice list, first page": lambda: select_invoice_rows(conn, workspace_id, limit=51),
            "invoice list, deep page": lambda: select_invoice_rows(conn, workspace_id, InvoiceListQuery(after=deep)),
            "invoice list, status void": lambda: select_invoice_rows(conn, workspace_id, InvoiceListQuery("void")),
            "invoice list, search number": lambda: select_invoice_rows(
                conn, workspace_id, InvoiceListQuery(text=row["number"])
            ),
            "invoice list, search name": lambda: select_invoice_rows(
                conn, workspace_id, InvoiceListQuery(text=whole_name)
            ),
            "invoice list, search a word many names share": lambda: select_invoice_rows(
                conn, workspace_id, InvoiceListQuery(text="falcon")
            ),
            "invoice list, search amount": lambda: select_invoice_rows(
                conn, workspace_id, InvoiceListQuery(text=amount, amount=amount_search(amount, "en"))
            ),
            "customer list, deep page": lambda: select_customers(conn, workspace_id, after=deep_customer, limit=51),
            "customer list, search": lambda: select_customers(conn, workspace_id, search="falcon", limit=51),
            "support inbox": lambda: select_open_threads(conn, workspace_id),
            "the longest thread": lambda: select_comments(conn, thread),
        }
        print("\n  Plans at this size (auto_explain: EXPLAIN ANALYZE, BUFFERS), key lines:")
        for name, call in calls.items():
            plans.clear()
            await call()
            print(f"    {name}:")
            for plan in plans:
                if "pg_catalog" in plan or "pg_type" in plan:
                    continue  # asyncpg learning a type on this connection, not the app's query
                lines = [line.strip() for line in plan.splitlines()]
                buffers = next((line for line in lines if line.startswith("Buffers")), "")
                duration = next((line for line in lines if line.startswith("duration")), "")
                print(f"      [{duration[:40]}{'; ' if duration and buffers else ''}{buffers}]")
                for line in lines:
                    if _KEY_LINE.search(line):
                        print(f"        {re.sub(r'[(]cost=[^)]*[)] ', '', line)[:150]}")
    finally:
        await conn.close()
