"""Stripe Invoicing benchmark (`make bench`): how fast a workspace's Stripe invoices are copied into the portal.

1. A fresh database on the system PostgreSQL (`invoice_portal_bench_sync`), demo data, the Stripe double on
   127.0.0.1 with an account holding N finalized invoices (two lines, one taxed), connected to the demo workspace.
2. Backfill throughput, against a baseline in the same run: walking the same pages with the same Stripe calls
   (list, lines, tax rates) and nothing else, which is the double's own cost. Then the backfill (each invoice
   copied in its own transaction), and a second backfill (every invoice unchanged).
3. Event to copy: for a paid invoice, the `invoice.paid` event applied the way the webhook does (retrieve the
   invoice from Stripe, copy it, one transaction, NOTIFY), against the bare retrieve alone.
   (Stripe's own delivery delay is not in it: the double waits about a second before sending an event.)
4. Portal → Stripe: a sent five-line invoice issued in Stripe by the outbox's step (customer, draft, items, the
   lines' tax amounts, checks, finalization, the mirror row), against the bare SDK sequence that makes the same
   invoice (create, five items, finalize) with nothing else.

Usage: .venv/bin/python -m bench.stripe_sync [--invoices N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import stripe

from bench.portal import bench_database, prepare
from db.customers import insert_customer
from db.invoices import NewLine, insert_invoice, insert_invoice_lines, issue_invoice
from db.rows import init_connection
from db.stripe_connections import StripeConnection, save_stripe_connection
from db.stripe_mirrors import queue_issue
from db.workspaces import select_workspace_by_slug
from web.dev.local_stripe import create_account, localstripe
from web.secret_box import SecretBox
from web.settings import Settings
from web.stripe.accounts import StripeAccounts
from web.stripe.invoices import complete_invoice, list_invoices, retrieve_invoice
from web.stripe.webhooks import StripeEvent, apply_event
from web.stripe_mirror.worker import run_invoice
from web.stripe_sync.backfill import backfill
from web.stripe_sync.events import EVENT_READS, HANDLED_EVENTS

BENCH_DB = "invoice_portal_bench_sync"
BOX = SecretBox("bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")


def make_invoices(client: stripe.StripeClient, count: int) -> list[str]:
    customer = client.v1.customers.create({"name": "Initech", "email": "ap@initech.example"}).id
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 19, "inclusive": False}).id
    made = []
    for _ in range(count):
        draft = client.v1.invoices.create(
            {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30, "currency": "eur"}
        )
        client.v1.invoice_items.create(
            {"customer": customer, "invoice": draft.id, "amount": 10000, "currency": "eur",
             "description": "Consulting", "tax_rates": [rate]}
        )  # fmt: skip
        client.v1.invoice_items.create(
            {"customer": customer, "invoice": draft.id, "unit_amount_decimal": "2500", "quantity": 3,
             "currency": "eur", "description": "Support"}
        )  # fmt: skip
        made.append(client.v1.invoices.finalize_invoice(draft.id).id)
    return made


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} invoices/s ({seconds * 1000:8.1f} ms for {count})"


async def run(url: str, base: str, count: int, events: int) -> None:
    account_json = create_account(base, "Bench Trading")
    client = stripe.StripeClient(account_json["secret_key"], base_addresses={"api": base}, max_network_retries=0)
    print(f"making {count} invoices in the Stripe double…", flush=True)
    made = await asyncio.to_thread(make_invoices, client, count)
    pool = await asyncpg.create_pool(url, min_size=2, max_size=4, init=init_connection)
    try:
        async with pool.acquire() as conn:
            workspace = await select_workspace_by_slug(conn, "demo")
            assert workspace is not None
            connection = await save_stripe_connection(conn, StripeConnection(
                workspace_id=workspace.id, account_id=account_json["id"], account_name="Bench Trading",
                livemode=False, secret_key=BOX.seal(account_json["secret_key"]), key_kind="secret",
                key_last4=account_json["secret_key"][-4:], publishable_key=account_json["publishable_key"],
                webhook_endpoint_id="we_bench", webhook_url="http://127.0.0.1/none",
                webhook_secret=BOX.seal("whsec_bench"), connect_account_id=None, connected_by="bench",
            ))  # fmt: skip
        accounts = StripeAccounts(Settings(stripe_api_base=base), BOX)
        account = accounts.connected(connection)

        start = time.perf_counter()
        cursor, walked, rates = None, 0, {}
        while True:
            page, more = await list_invoices(account.gateway, since=None, starting_after=cursor)
            for listed in page:
                await complete_invoice(account.gateway, listed, rates)
                walked += 1
            cursor = page[-1]["id"] if page else cursor
            if not more:
                break
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        first = await backfill(pool, account)
        copied = time.perf_counter() - start
        start = time.perf_counter()
        again = await backfill(pool, account)
        repeated = time.perf_counter() - start
        assert first.created == count and again.unchanged == count, (first, again)
        print("backfill")
        print(f"  walk only (the double's own cost)   {per_second(walked, baseline)}")
        print(f"  backfill, every invoice created     {per_second(count, copied)}  {copied / baseline:5.2f}x walk")
        print(f"  backfill again, all unchanged       {per_second(count, repeated)}  {repeated / baseline:5.2f}x walk")

        retrieve_ms, apply_ms = [], []
        for invoice_id in made[:events]:
            await asyncio.to_thread(client.v1.invoices.pay, invoice_id, {"paid_out_of_band": True})
            start = time.perf_counter()
            await retrieve_invoice(account.gateway, invoice_id)
            retrieve_ms.append((time.perf_counter() - start) * 1000)
            event = StripeEvent(f"evt_bench_{invoice_id}", "invoice.paid", datetime.now(UTC), {"id": invoice_id})
            start = time.perf_counter()
            outcome = await apply_event(pool, account, event, HANDLED_EVENTS, EVENT_READS)
            apply_ms.append((time.perf_counter() - start) * 1000)
            assert outcome == "updated", outcome
        print(f"event to copy ({events} invoice.paid events)")
        for name, samples in (
            ("retrieve alone (the double)", retrieve_ms),
            ("event applied (retrieve + copy)", apply_ms),
        ):
            ordered = sorted(samples)
            p50, p95 = statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]
            print(f"  {name:34s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        print(f"  ratio p50: {statistics.median(apply_ms) / statistics.median(retrieve_ms):5.2f}x the retrieve")
        await issue_in_stripe(pool, accounts, client, workspace.id, account_json["id"], events)
    finally:
        await pool.close()


FIVE_LINES = [NewLine(f"Item {n}", Decimal(n), 1999 + n, Decimal("19" if n % 2 else "7")) for n in range(1, 6)]


async def issue_in_stripe(
    pool: asyncpg.Pool, accounts: StripeAccounts, client: stripe.StripeClient, workspace_id: int, account_id: str,
    count: int,
) -> None:  # fmt: skip
    bare_ms, step_ms = [], []
    customer = (await asyncio.to_thread(client.v1.customers.create, {"name": "Bare"})).id
    for _ in range(count):
        start = time.perf_counter()
        await asyncio.to_thread(_bare_invoice, client, customer)
        bare_ms.append((time.perf_counter() - start) * 1000)
    async with pool.acquire() as conn:
        buyer = await insert_customer(conn, workspace_id=workspace_id, name="Initech", email="ap@initech.example")
        invoice_ids = []
        for _ in range(count):
            draft = await insert_invoice(
                conn, workspace_id=workspace_id, customer_id=buyer.id, currency="EUR", locale="en"
            )
            await insert_invoice_lines(conn, draft.id, FIVE_LINES)
            today = date.today()
            await issue_invoice(conn, draft.id, issue_date=today, due_date=today + timedelta(days=30))
            await queue_issue(conn, draft.id, workspace_id, account_id)
            invoice_ids.append(draft.id)
    for invoice_id in invoice_ids:
        start = time.perf_counter()
        assert await run_invoice(pool, accounts, invoice_id) == 1
        step_ms.append((time.perf_counter() - start) * 1000)
    print(f"portal → Stripe ({count} five-line invoices)")
    for name, samples in (("bare SDK sequence (no checks)", bare_ms), ("issue step (outbox, VAT, checks)", step_ms)):
        ordered = sorted(samples)
        p50, p95 = statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]
        print(f"  {name:34s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    print(f"  ratio p50: {statistics.median(step_ms) / statistics.median(bare_ms):5.2f}x the bare sequence")


def _bare_invoice(client: stripe.StripeClient, customer: str) -> None:
    draft = client.v1.invoices.create(
        {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30, "currency": "eur"}
    )
    for line in FIVE_LINES:
        client.v1.invoice_items.create(
            {"customer": customer, "invoice": draft.id, "quantity": int(line.quantity), "currency": "eur",
             "unit_amount_decimal": str(line.unit_price), "description": line.description}
        )  # fmt: skip
    client.v1.invoices.finalize_invoice(draft.id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=300, help="invoices in the Stripe account (default 300)")
    parser.add_argument("--events", type=int, default=30, help="invoice.paid events applied (default 30)")
    parser.add_argument("--quick", action="store_true", help="a tiny run (20 invoices, 5 events) to check it works")
    args = parser.parse_args(argv)
    count, events = (20, 5) if args.quick else (args.invoices, args.events)
    with bench_database(BENCH_DB, "stripe-sync-bench-") as (url, _workdir, _servers), localstripe() as base:
        asyncio.run(prepare(url))
        asyncio.run(run(url, base, count, min(events, count)))


if __name__ == "__main__":
    main()
