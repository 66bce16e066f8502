"""PDF pre-render benchmark (`make bench`): how long from Send until the PDF is cached, and what the customer's first
PDF request costs with and without pre-rendering.

A fresh database on the system PostgreSQL (`invoice_portal_bench_prerender`) with the demo data. Two phases, one
uvicorn worker (PDF_WORKERS=1) each, N invoices sent per phase (issued through the same query Send uses, which
notifies every process):
- pre-rendering off: the customer's first GET /i/{token}/pdf renders it (a miss);
- pre-rendering on: the time from the send's commit to the PDF in the shared cache, then the customer's first
  GET /i/{token}/pdf (a hit); both against a bare Starlette GET /.

Usage: .venv/bin/python -m bench.prerender [--invoices N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from bench.payments import connection, report, request, timed
from bench.portal import Server, bench_database, prepare, start_bare_and_portal, stop_servers
from db.invoices import NewLine, insert_invoice, insert_invoice_lines, issue_invoice
from db.rows import init_connection
from web.invoices.links import create_link
from web.invoices.totals import compute_totals

BENCH_DB = "invoice_portal_bench_prerender"
LINES = [NewLine(f"Consulting, week {n}", Decimal(5), 95000 + n, Decimal(19), "DAY") for n in range(1, 9)]


async def send(url: str, count: int, *, wait_for_pdf: bool) -> tuple[list[str], list[float]]:
    """`count` invoices issued to the demo's first customer, one at a time as a billing team sends them; their
    tokens, and (`wait_for_pdf`) the milliseconds from each send's commit to its PDF in the shared cache."""
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        workspace_id, customer_id = await conn.fetchrow(
            "SELECT w.id, min(c.id) FROM workspaces w JOIN customers c ON c.workspace_id = w.id "
            "WHERE w.slug = 'demo' GROUP BY w.id"
        )
        tokens, waits = [], []
        for _ in range(count):
            async with conn.transaction():
                draft = await insert_invoice(
                    conn, workspace_id=workspace_id, customer_id=customer_id, currency="EUR", locale="en_IE",
                    payment_terms="Net 30", notes="",
                )  # fmt: skip
                await insert_invoice_lines(conn, draft.id, LINES)
                today = date.today()
                total = compute_totals(LINES, "EUR").total
                await issue_invoice(conn, draft.id, issue_date=today, due_date=today + timedelta(days=30), total=total)
                link = await create_link(conn, draft.id)
            committed = time.monotonic()
            tokens.append(link.token)
            if wait_for_pdf:
                await until_cached(conn, draft.id)
                waits.append((time.monotonic() - committed) * 1000)
            await asyncio.sleep(0.5)
        return tokens, waits
    finally:
        await conn.close()


async def until_cached(conn: asyncpg.Connection, invoice_id: int) -> None:
    """Polls the shared cache every 10 ms: another process writes it, so there is nothing here to wait on."""
    query = (
        "SELECT EXISTS (SELECT 1 FROM pdf_cache c JOIN invoices i ON i.id = c.invoice_id AND c.version = i.version"
        " WHERE i.id = $1)"
    )
    for _ in range(6000):
        if await conn.fetchval(query, invoice_id):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"invoice {invoice_id}: no PDF after 60 s")


def first_pdf(portal: Server, tokens: list[str]) -> list[float]:
    tab = connection(portal.base)

    def fetch(index: int) -> None:
        status, body = request(tab, "GET", f"/i/{tokens[index]}/pdf?download=1")
        assert status == 200 and body.startswith(b"%PDF"), status

    return timed(len(tokens), fetch)


def phase(url: str, workdir: Path, servers: list[Server], env: dict[str, str], label: str, count: int) -> None:
    prerendering = env["PDF_PRERENDER_SECONDS"] != "0"
    bare, portal = start_bare_and_portal(env, workdir, servers)
    if prerendering:
        time.sleep(3)  # the start-up sweep renders the demo invoices first
    floor_tab = connection(bare.base)
    floor = timed(50, lambda _: request(floor_tab, "GET", "/"))
    tokens, waits = asyncio.run(send(url, count, wait_for_pdf=prerendering))
    print(f"pre-rendering {label}:")
    report("bare Starlette GET /", floor)
    if prerendering:
        report("send committed -> PDF in the shared cache", waits)
    report("the customer's first GET /i/{token}/pdf", first_pdf(portal, tokens), sorted(floor)[len(floor) // 2])
    stop_servers(servers)
    servers.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=10, help="invoices sent per phase (default 10)")
    parser.add_argument("--quick", action="store_true", help="a tiny run (1 invoice a phase), to see that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.invoices = 1
    print(f"PDF pre-render benchmark: {os.cpu_count()} CPUs, {args.invoices} invoices of {len(LINES)} lines per phase")
    with bench_database(BENCH_DB, "prerender-bench-") as (url, workdir, servers):
        asyncio.run(prepare(url))
        base = {**os.environ, "PDF_WORKERS": "1", "DATABASE_URL": url, "RECEIPT_MAIL_SECONDS": "0"}
        # A quick round runs the phase that pre-renders only (each phase starts its own servers).
        for label, seconds in (("on", "3600"),) if args.quick else (("off", "0"), ("on", "3600")):
            phase(url, Path(workdir), servers, {**base, "PDF_PRERENDER_SECONDS": seconds}, label, args.invoices)


if __name__ == "__main__":
    main()
