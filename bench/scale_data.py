"""Bulk data for bench/scale.py: a workspace's years of invoices (with lines and payments), its customers and
their comment threads, written with COPY, a table at a time, never row by row.

The rows are shaped like a real billing team's: customers with ten invoices each on average, three lines per
invoice, most invoices paid (one payment each) and some partly paid, a fifth with a thread (comments alternate
customer and team; a few threads end with an unanswered customer comment, which the support inbox lists).
Row triggers are off while loading (session_replication_role = replica, as pg_restore does): they notify
listeners and log activity for a person's change, and nobody listens while the benchmark loads; what they keep
for the support inbox is worked out once after the load instead."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

ADJECTIVES = (
    "Northern Blue Golden Silver Rapid Bright Quiet Royal Urban Coastal Alpine Global Prime Green Red Iron Stone "
    "Swift Clear Solid Modern Classic Digital Central Eastern Western Southern Lunar Solar Crystal Summit Harbor "
    "Cedar Maple Oak Pine River Lake Valley Meadow Falcon Eagle Lion Tiger Wolf Bear Fox Hawk Orca"
).split()
NOUNS = "Logistics Analytics Studio Foods Textiles Robotics Media Energy Pharma Consulting Design Systems".split()
SUFFIXES = ("GmbH", "SARL", "Ltd", "BV", "AB", "SpA", "Inc.", "Oy")
STATUSES = ("paid",) * 70 + ("open",) * 20 + ("void",) * 3 + ("uncollectible",) * 1 + ("draft",) * 6
EPOCH = datetime(2021, 1, 4, 9, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Size:
    invoices: int
    customers: int
    comments: int

    def __str__(self) -> str:
        return f"{self.invoices:,} invoices, {self.customers:,} customers, {self.comments:,} comments"


def customer_name(n: int) -> str:
    """Unique by the number in it; "Falcon" or "Robotics" is a word many customers share."""
    return f"{ADJECTIVES[n % len(ADJECTIVES)]} {NOUNS[n // len(ADJECTIVES) % len(NOUNS)]} {n:05d} {SUFFIXES[n % 8]}"


async def _ids_after(conn: asyncpg.Connection, table: str, before: int, count: int) -> list[int]:
    """COPY takes identity values in the order of its rows (one session, nothing else inserting)."""
    ids = [r["id"] for r in await conn.fetch(f"SELECT id FROM {table} WHERE id > $1 ORDER BY id", before)]
    assert len(ids) == count, (table, len(ids), count)
    return ids


async def _max_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}"))


async def grow(conn: asyncpg.Connection, workspace_id: int, have: Size, want: Size, seed: int = 7) -> None:
    """Add rows to the workspace until it holds `want` (it holds `have`), in one transaction."""
    rng = random.Random(seed + have.invoices)
    seller = await conn.fetchval(
        "SELECT seller_snapshot FROM invoices WHERE workspace_id = $1 AND seller_snapshot IS NOT NULL LIMIT 1",
        workspace_id,
    )
    assert seller is not None, "the demo workspace has issued invoices to take the seller's snapshot from"
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        before = await _max_id(conn, "customers")
        new_customers = range(have.customers, want.customers)
        await conn.copy_records_to_table(
            "customers",
            columns=["workspace_id", "name", "email", "tax_id", "billing_address", "locale", "created_at"],
            records=[
                (workspace_id, customer_name(n), f"ap{n}@customer{n}.example", f"DE{100000000 + n}",
                 f"Street {n}\n{10000 + n % 89999} City", "en", EPOCH + timedelta(minutes=n))
                for n in new_customers
            ],
        )  # fmt: skip
        customer_ids = await _ids_after(conn, "customers", before, len(new_customers))
        all_customers = [
            r["id"] for r in await conn.fetch("SELECT id FROM customers WHERE workspace_id = $1", workspace_id)
        ]
        span = (datetime.now(UTC) - EPOCH).total_seconds()
        invoices, totals = [], []
        for n in range(have.invoices, want.invoices):
            # Spread evenly over the years, in the order they were made (their numbers follow that order).
            created = EPOCH + timedelta(seconds=span * n / want.invoices)
            status = STATUSES[rng.randrange(len(STATUSES))]
            customer = customer_ids[rng.randrange(len(customer_ids))] if customer_ids else rng.choice(all_customers)
            issued = status != "draft"
            issue_day = created.date()
            buyer = json.dumps({"legal_name": f"Customer {customer}", "address": "Street 1\n10000 City", "email": ""})
            invoices.append(
                (workspace_id, customer, f"BIG-{issue_day.year}-{n:07d}" if issued else None, status, "EUR", "en",
                 issue_day if issued else None, issue_day + timedelta(days=30) if issued else None,
                 seller if issued else None, buyer if issued else None, created if issued else None,
                 created + timedelta(days=12) if status == "paid" else None,
                 created + timedelta(days=3) if status == "void" else None,
                 "Issued twice" if status == "void" else "", created, created, "customer")
            )  # fmt: skip
            totals.append(issued)
        before = await _max_id(conn, "invoices")
        await conn.copy_records_to_table(
            "invoices",
            columns=["workspace_id", "customer_id", "number", "status", "currency", "locale", "issue_date",
                     "due_date", "seller_snapshot", "buyer_snapshot", "issued_at", "paid_at", "voided_at",
                     "void_reason", "created_at", "updated_at", "comment_mode"],
            records=invoices,
        )  # fmt: skip
        invoice_ids = await _ids_after(conn, "invoices", before, len(invoices))
        lines, payments, issued_totals = [], [], []
        for invoice_id, row in zip(invoice_ids, invoices, strict=True):
            total = 0
            for position in range(3):
                price = rng.randrange(1000, 200000)
                lines.append((invoice_id, position, f"Service {position + 1}", Decimal(1 + position), price,
                              Decimal(19)))  # fmt: skip
                total += round((1 + position) * price * Decimal("1.19"))
            status, created = row[3], row[14]
            if status != "draft":
                issued_totals.append((invoice_id, total))
            if status == "paid" or (status == "open" and rng.random() < 0.25):
                amount = total if status == "paid" else total // 2
                at = created + timedelta(days=12)
                payments.append((invoice_id, amount, "EUR", "bank_transfer", "succeeded", at, at, at))
        await conn.copy_records_to_table(
            "invoice_lines",
            columns=["invoice_id", "position", "description", "quantity", "unit_price", "tax_rate"],
            records=lines,
        )
        await conn.copy_records_to_table(
            "payments",
            columns=["invoice_id", "amount", "currency", "method", "status", "created_at", "succeeded_at",
                     "updated_at"],
            records=payments,
        )  # fmt: skip
        await conn.execute("CREATE TEMP TABLE bench_totals (id bigint, total bigint) ON COMMIT DROP")
        await conn.copy_records_to_table("bench_totals", records=issued_totals)
        await conn.execute("UPDATE invoices i SET issued_total = t.total FROM bench_totals t WHERE t.id = i.id")
        await conn.copy_records_to_table(
            "comments",
            columns=["invoice_id", "author_role", "author_name", "author_email", "body", "client_key", "created_at"],
            records=_comments(rng, invoice_ids, invoices, want.comments - have.comments),
        )
        # The waiting threads, which the comment triggers would have kept (migration 0025).
        await conn.execute("SELECT refresh_thread_inbox($1)", workspace_id)
    # Statistics for the planner, the visibility map for index-only scans, and the dirty pages written now: else
    # autovacuum and the checkpointer would do it during the measurements, and their p99.
    await conn.execute("VACUUM (ANALYZE)")
    await conn.execute("CHECKPOINT")


def _comments(
    rng: random.Random, invoice_ids: list[int], invoices: list[tuple[object, ...]], count: int
) -> list[tuple[object, ...]]:
    """Threads on a fifth of the issued invoices, `count` comments in all. 3% of threads wait for a reply, and
    the first 120 of each load, so that the support inbox shows a full page (100) at every size."""
    threaded = [(i, row) for i, row in zip(invoice_ids, invoices, strict=True) if row[3] != "draft"]
    threaded = threaded[:: max(1, len(threaded) // max(1, len(threaded) // 5))] if threaded else []
    comments: list[tuple[object, ...]] = []
    for index, (invoice_id, row) in enumerate(threaded):
        share = count // len(threaded) + (1 if index < count % len(threaded) else 0)
        waits = index < 120 or rng.random() < 0.03
        created = row[14]
        assert isinstance(created, datetime)
        for k in range(share):
            # Turns alternate; counted back from the last, which is the customer's when the thread waits.
            customer_turn = (share - 1 - k) % 2 == (0 if waits else 1)
            role = "customer" if customer_turn else "staff"
            comments.append(
                (invoice_id, role, "Claire Customer" if customer_turn else "Bea Billing",
                 "ap@customer.example" if customer_turn else "", f"Question {k} about line {k % 3 + 1}: " + "x" * 80,
                 f"bench{invoice_id:012d}{k:06d}", created + timedelta(hours=k + 1))
            )  # fmt: skip
    return comments
