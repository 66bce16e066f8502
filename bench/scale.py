"""Cost at size (`make bench`): the same requests at 1,000 invoices and at 200,000, p99 against p99.

A fresh database on the system PostgreSQL (`invoice_portal_bench_scale`) with the demo data; the demo workspace
grows first to the small size, then to the large one (bench/scale_data.py, COPY), ANALYZE after each. At each
size, one uvicorn worker for the portal (PDF pre-rendering off: it would render the new invoices meanwhile) and
one for a bare Starlette app answer, sequentially on one keep-alive connection each:
- bare Starlette GET / (the floor);
- the invoice page of invoices never opened since the server started (cold), then the same again (cached);
- the console invoice list: first page, a page deep in the list, filtered by status, searched by number, by a
  word many customer names share, by one customer's whole name, by amount;
- the customer list: first page, a page deep in it, searched;
- the support inbox (the fragment a doorbell fetches), and posting a comment (htmx, a writer session each).
Then each hot query's plan (EXPLAIN ANALYZE, BUFFERS, by auto_explain) at the large size: the scans it used.

Goal: every p99 at the large size within 1.5x of the small size's.

Usage: .venv/bin/python -m bench.scale [--invoices N] [--customers N] [--comments N] [--count N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

import asyncpg

from bench.console import Browser, sign_in
from bench.payments import connection, timed
from bench.portal import Server, bench_database, prepare, start_bare_and_portal, stop_server
from bench.scale_data import Size, customer_name, grow
from bench.scale_plans import print_plans
from db.invoices import select_invoice_by_id
from db.rows import init_connection
from web.comments.access import open_vouched_session
from web.dev.demo import DEMO_STAFF
from web.invoices.links import create_link

BENCH_DB = "invoice_portal_bench_scale"
SMALL = Size(invoices=1_000, customers=100, comments=2_500)
GOAL = 1.5


@dataclass
class Figures:
    size: Size
    samples: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Targets:
    """What the requests at one size ask for, chosen from that size's data."""

    warm_up: str  # a demo invoice's page
    tokens: list[str]  # invoice pages, never opened yet
    writers: list[tuple[str, str]]  # (page token, comment session token), one invoice each
    deep_invoice: int  # the "after" of a page three quarters down the invoice list
    deep_customer: int
    number: str
    broad_word: str
    whole_name: str
    amount: str


def p(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(len(ordered) * percent / 100 + 0.5) - 1)]


async def choose_targets(url: str, workspace_id: int, size: Size, count: int) -> Targets:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        rng = random.Random(size.invoices)
        issued = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM invoices WHERE workspace_id = $1 AND status IN ('open', 'paid') AND number LIKE 'BIG-%'"
                " AND NOT EXISTS (SELECT 1 FROM portal_links l WHERE l.invoice_id = invoices.id)",
                workspace_id,
            )
        ]
        chosen = rng.sample(issued, min(len(issued), 2 * count))
        tokens = [(await create_link(conn, invoice_id)).token for invoice_id in chosen[:count]]
        writers = []
        now = datetime.now(UTC)
        for invoice_id in chosen[count:]:
            invoice = await select_invoice_by_id(conn, invoice_id)
            assert invoice is not None
            email = await conn.fetchval("SELECT lower(email) FROM customers WHERE id = $1", invoice.customer_id)
            session = await open_vouched_session(conn, invoice, email=email, now=now, expires_at=now + timedelta(1))
            assert session is not None
            writers.append(((await create_link(conn, invoice_id)).token, session))
        deep_invoice = await conn.fetchval(
            "SELECT id FROM invoices WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            workspace_id,
            size.invoices * 3 // 4,
        )
        deep_customer = await conn.fetchval(
            "SELECT id FROM customers WHERE workspace_id = $1 ORDER BY lower(name), id OFFSET $2 LIMIT 1",
            workspace_id,
            size.customers * 3 // 4,
        )
        sample = await conn.fetchrow(
            "SELECT number, issued_total FROM invoices WHERE id = $1", chosen[0]
        )  # fmt: skip
        warm_up = await conn.fetchval(
            "SELECT token FROM portal_links l JOIN invoices i ON i.id = l.invoice_id"
            " WHERE i.workspace_id = $1 AND i.number NOT LIKE 'BIG-%' LIMIT 1",
            workspace_id,
        )
        return Targets(
            warm_up, tokens, writers, deep_invoice, deep_customer, sample["number"], "falcon",
            customer_name(size.customers // 2), f"{sample['issued_total'] / 100:.2f}",
        )  # fmt: skip
    finally:
        await conn.close()


def measure(figures: Figures, name: str, count: int, action: Callable[[int], None]) -> None:
    samples = timed(count, action)
    figures.samples[name] = samples
    print(f"    {name:44s} p50 {statistics.median(samples):7.2f} ms  p99 {p(samples, 99):7.2f} ms")


def run_requests(figures: Figures, bare: HTTPConnection, tab: Browser, targets: Targets, count: int) -> None:
    def ok(method: str, path: str, form: dict[str, str | list[str]] | None = None, **headers: str) -> None:
        status, text = tab.send(method, path, form, **headers)
        assert status == 200, (path, status, text[:300])

    def get_bare(_: int) -> None:
        bare.request("GET", "/")
        bare.getresponse().read()

    for _ in range(20):  # warm both up: templates, the console's prepared statements, a first invoice page
        get_bare(0)
        ok("GET", "/console/invoices")
        ok("GET", f"/i/{targets.warm_up}")
    measure(figures, "bare Starlette GET /", count, get_bare)
    measure(figures, "invoice page, cold", len(targets.tokens), lambda i: ok("GET", f"/i/{targets.tokens[i]}"))
    measure(figures, "invoice page, cached", len(targets.tokens), lambda i: ok("GET", f"/i/{targets.tokens[i]}"))
    lists = {
        "console invoices: first page": "/console/invoices",
        "console invoices: deep page": f"/console/invoices?after={targets.deep_invoice}",
        "console invoices: status open": "/console/invoices?status=open",  # a fifth: full pages at both sizes
        "console invoices: search number": f"/console/invoices?q={targets.number}",
        "console invoices: search shared word": f"/console/invoices?q={targets.broad_word}",
        "console invoices: search whole name": "/console/invoices?q=" + targets.whole_name.replace(" ", "+"),
        "console invoices: search amount": f"/console/invoices?q={targets.amount}",
        "console customers: first page": "/console/customers",
        "console customers: deep page": f"/console/customers?after={targets.deep_customer}",
        "console customers: search whole name": "/console/customers?q=" + targets.whole_name.replace(" ", "+"),
        "console customers: search shared word": f"/console/customers?q={targets.broad_word}",
    }
    for name, path in lists.items():
        measure(figures, name, count, lambda _, path=path: ok("GET", path))  # type: ignore[misc]
    hx = {"HX-Request": "true"}
    measure(figures, "support inbox (fragment)", count, lambda _: ok("GET", "/console/inbox/list", **hx))

    def post(index: int) -> None:
        token, session = targets.writers[index]
        form: dict[str, str | list[str]] = {"body": "Could you split this?", "client_key": secrets.token_urlsafe(18)}
        ok("POST", f"/i/{token}/comments", form, **hx, **{"X-Comment-Session": session})

    measure(figures, "comment post (htmx)", len(targets.writers), post)


def measure_size(
    url: str, workspace_id: int, figures: Figures, tab: Browser, count: int, servers: list[Server], workdir: Path
) -> None:
    """`tab` signs in on its first use and keeps its session (in the database) for the next server: a second
    sign-in within the same 30 seconds would replay the TOTP code, which the console rightly refuses."""
    targets = asyncio.run(choose_targets(url, workspace_id, figures.size, count))
    env = {**os.environ, "PDF_WORKERS": "1", "PDF_PRERENDER_SECONDS": "0", "DATABASE_URL": url}
    bare_server, portal_server = start_bare_and_portal(env, workdir, servers)
    try:
        tab.conn = connection(portal_server.base)
        if not tab.cookie:
            sign_in(tab, url, DEMO_STAFF[0][0])
        run_requests(figures, connection(bare_server.base), tab, targets, count)
    finally:
        for server in (portal_server, bare_server):
            stop_server(server)
            servers.remove(server)


def compare(small: Figures, large: Figures) -> None:
    print(f"\n  p99 at {large.size.invoices:,} invoices against {small.size.invoices:,} (goal: within {GOAL}x)")
    for name, samples in large.samples.items():
        before, after = p(small.samples[name], 99), p(samples, 99)
        ratio = after / before
        if name.startswith("bare"):
            verdict = "(the floor)"
        elif "shared word" in name:  # 2% of customers: a page of 20 rows at the small size, a full one at the large
            verdict = "(a bigger answer)"
        else:
            verdict = "ok" if ratio <= GOAL else "OVER"
        print(f"    {name:44s} {before:7.2f} -> {after:7.2f} ms  {ratio:5.2f}x  {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--comments", type=int, default=500_000)
    parser.add_argument("--count", type=int, default=200, help="samples per measurement (default 200)")
    parser.add_argument("--quick", action="store_true", help="a tiny run that proves the script works")
    args = parser.parse_args(argv)
    small, large, count = SMALL, Size(args.invoices, args.customers, args.comments), args.count
    if args.quick:
        small, large, count = Size(60, 10, 100), Size(200, 20, 300), 5
    print(f"Scale benchmark: {os.cpu_count()} CPUs, {count} sequential samples each, one uvicorn worker per app")
    with bench_database(BENCH_DB, "scale-bench-") as (url, workdir, servers):
        asyncio.run(prepare(url))
        workspace_id = asyncio.run(_demo_workspace(url))
        figures, tab = [], Browser(connection("http://127.0.0.1:1"))
        have = Size(0, 0, 0)
        for size in (small, large):
            started = time.perf_counter()
            asyncio.run(_grow(url, workspace_id, have, size))
            print(f"\n  {size} (loaded in {time.perf_counter() - started:.1f} s)")
            figures.append(Figures(size))
            measure_size(url, workspace_id, figures[-1], tab, count, servers, workdir)
            have = size
        compare(*figures)
        asyncio.run(print_plans(url, workspace_id, customer_name(large.customers // 2)))


async def _grow(url: str, workspace_id: int, have: Size, want: Size) -> None:
    conn = await asyncpg.connect(url)
    try:
        await grow(conn, workspace_id, have, want)
    finally:
        await conn.close()


async def _demo_workspace(url: str) -> int:
    """The workspace of the demo's console accounts, which the benchmark signs in to and grows."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT workspace_id FROM staff WHERE email = $1", DEMO_STAFF[0][0]))
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
