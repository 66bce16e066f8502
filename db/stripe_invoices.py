"""Invoices made in Stripe Invoicing, copied into a workspace: the customer matched by Stripe customer id (created
when new), the invoice and its lines written as Stripe has them, Stripe's own amounts beside them, and the
backfill's progress (stripe_syncs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from db.postal import PostalAddress
from db.rows import Connection
from db.stripe_payments import ImportedPayment, keep_imported_payments


@dataclass(frozen=True, slots=True)
class ImportedLine:
    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal
    net: int  # Stripe's amount for the line
    tax: int


@dataclass(frozen=True, slots=True)
class ImportedInvoice:
    """One finalized Stripe invoice as the portal keeps it (drafts are never copied)."""

    stripe_id: str
    account_id: str
    number: str
    status: str  # open, paid, void, uncollectible
    currency: str
    customer_stripe_id: str
    customer_name: str
    customer_email: str
    customer_address: str
    customer_postal: PostalAddress  # the same address in parts, for the customer record
    customer_tax_id: str
    lines: tuple[ImportedLine, ...]
    net: int
    tax: int
    total: int
    amount_paid: int
    amount_remaining: int
    tax_groups: tuple[tuple[Decimal, int, int], ...]  # (rate, net, tax)
    issue_date: date
    due_date: date | None
    paid_at: datetime | None
    voided_at: datetime | None
    hosted_invoice_url: str
    invoice_pdf: str
    payment_failed: bool
    content_hash: str
    payments: tuple[ImportedPayment, ...] = ()  # paid in Stripe (for receipts), oldest first


async def upsert_imported_invoice(conn: Connection, workspace_id: int, copy: ImportedInvoice) -> tuple[str, int]:
    """('created' | 'updated' | 'unchanged', invoice id). Call inside a transaction. Raises LookupError for an
    invoice another workspace holds (two workspaces on one Stripe account), asyncpg's UniqueViolationError for a
    number the workspace already uses."""
    # A new invoice has no row to lock yet: its Stripe id is locked instead, so an event and a backfill copying it
    # at the same moment write one after the other (the second finds the first's row).
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"stripe-invoice:{copy.stripe_id}")
    existing = await conn.fetchrow(
        """
        SELECT i.id, i.workspace_id, s.content_hash FROM invoices i LEFT JOIN stripe_invoices s ON s.invoice_id = i.id
        WHERE i.stripe_invoice_id = $1 FOR UPDATE OF i
        """,
        copy.stripe_id,
    )
    if existing is not None and existing["workspace_id"] != workspace_id:
        raise LookupError(f"{copy.stripe_id} is another workspace's invoice")
    if existing is not None and existing["content_hash"] == copy.content_hash:
        return "unchanged", int(existing["id"])
    customer_id = await _customer(conn, workspace_id, copy)
    seller = await conn.fetchrow(
        "SELECT legal_name, address, tax_id, email, bank_transfer_instructions, logo_sha, default_locale"
        " FROM workspaces WHERE id = $1",
        workspace_id,
    )
    assert seller is not None  # the caller's workspace
    buyer = {
        "legal_name": copy.customer_name, "address": copy.customer_address, "tax_id": copy.customer_tax_id,
        "email": copy.customer_email,
    }  # fmt: skip
    snapshot = {key: seller[key] for key in ("legal_name", "address", "tax_id", "email", "logo_sha")}
    # Stripe shows no bank details of ours; its hosted page is how such a customer pays besides the portal.
    snapshot["bank_transfer_instructions"] = ""
    values = (
        copy.number, copy.status, copy.currency, copy.issue_date, copy.due_date, copy.paid_at, copy.voided_at,
    )  # fmt: skip
    if existing is None:
        invoice_id: int = await conn.fetchval(
            """
            INSERT INTO invoices (workspace_id, customer_id, number, status, currency, locale, issue_date, due_date,
                                  issued_at, paid_at, voided_at, seller_snapshot, buyer_snapshot, source,
                                  stripe_invoice_id, import_key, comment_mode)
            VALUES ($1, $2, $3, $4, $5, (SELECT locale FROM customers WHERE id = $2), $6, $7, now(), $8, $9,
                    $10::jsonb, $11::jsonb, 'stripe', $12, 'stripe:' || $12,
                    (SELECT default_comment_mode FROM workspaces WHERE id = $1))
            RETURNING id
            """,
            workspace_id, customer_id, *values, snapshot, buyer, copy.stripe_id,
        )  # fmt: skip
        outcome = "created"
    else:
        invoice_id = int(existing["id"])
        await conn.execute(
            """
            UPDATE invoices SET number = $2, status = $3, currency = $4, issue_date = $5, due_date = $6,
                paid_at = $7, voided_at = $8, buyer_snapshot = $9::jsonb, customer_id = $10,
                version = version + 1, updated_at = now()
            WHERE id = $1
            """,
            invoice_id, *values, buyer, customer_id,
        )  # fmt: skip
        await conn.execute("DELETE FROM invoice_lines WHERE invoice_id = $1", invoice_id)
        outcome = "updated"
    await conn.executemany(
        """
        INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, tax_rate, stripe_net,
                                   stripe_tax)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        [
            (invoice_id, position, line.description, line.quantity, line.unit_price, line.tax_rate, line.net, line.tax)
            for position, line in enumerate(copy.lines)
        ],
    )
    groups = [{"rate": str(rate), "net": net, "tax": tax} for rate, net, tax in copy.tax_groups]
    await conn.execute(
        """
        INSERT INTO stripe_invoices (invoice_id, account_id, stripe_customer_id, net, tax, total, amount_paid,
                                     amount_remaining, tax_groups, hosted_invoice_url, invoice_pdf, payment_failed,
                                     content_hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13)
        ON CONFLICT (invoice_id) DO UPDATE SET
            account_id = excluded.account_id, stripe_customer_id = excluded.stripe_customer_id, net = excluded.net,
            tax = excluded.tax, total = excluded.total, amount_paid = excluded.amount_paid,
            amount_remaining = excluded.amount_remaining, tax_groups = excluded.tax_groups,
            hosted_invoice_url = excluded.hosted_invoice_url, invoice_pdf = excluded.invoice_pdf,
            payment_failed = excluded.payment_failed, content_hash = excluded.content_hash, synced_at = now()
        """,
        invoice_id, copy.account_id, copy.customer_stripe_id, copy.net, copy.tax, copy.total, copy.amount_paid,
        copy.amount_remaining, groups, copy.hosted_invoice_url, copy.invoice_pdf, copy.payment_failed,
        copy.content_hash,
    )  # fmt: skip
    await keep_imported_payments(conn, invoice_id, copy.currency, copy.account_id, copy.payments)
    return outcome, invoice_id


async def _customer(conn: Connection, workspace_id: int, copy: ImportedInvoice) -> int:
    """The workspace's customer with this Stripe customer id, made from the invoice's customer details when new."""
    found: int | None = await conn.fetchval(
        "SELECT id FROM customers WHERE workspace_id = $1 AND stripe_customer_id = $2",
        workspace_id,
        copy.customer_stripe_id,
    )
    if found is not None:
        return found
    created: int = await conn.fetchval(
        """
        INSERT INTO customers (workspace_id, name, email, billing_address, tax_id, locale, stripe_customer_id,
                               street, street_extra, postcode, city, country_code)
        VALUES ($1, $2, $3, $4, $5, (SELECT default_locale FROM workspaces WHERE id = $1), $6, $7, $8, $9, $10, $11)
        ON CONFLICT (workspace_id, stripe_customer_id) WHERE stripe_customer_id IS NOT NULL
        DO UPDATE SET name = customers.name
        RETURNING id
        """,
        workspace_id, copy.customer_name, copy.customer_email, copy.customer_address, copy.customer_tax_id,
        copy.customer_stripe_id, *copy.customer_postal.values(),
    )  # fmt: skip
    return created


async def update_customer_from_stripe(
    conn: Connection,
    workspace_id: int,
    stripe_customer_id: str,
    *,
    name: str,
    email: str,
    address: str,
    tax_id: str,
    postal: PostalAddress,
) -> bool:
    """customer.updated: the customer's current details (issued invoices keep the buyer they were issued to)."""
    status = await conn.execute(
        """
        UPDATE customers SET name = $3, email = $4, billing_address = $5, tax_id = $6, street = $7, street_extra = $8,
                             postcode = $9, city = $10, country_code = $11, address_needs_review = false
        WHERE workspace_id = $1 AND stripe_customer_id = $2
        """,
        workspace_id, stripe_customer_id, name, email, address, tax_id, *postal.values(),
    )  # fmt: skip
    return status != "UPDATE 0"


async def select_stripe_amounts(conn: Connection, invoice_id: int) -> dict[str, Any] | None:
    """Stripe's own amounts and links of an imported invoice (None for the portal's own invoices)."""
    record = await conn.fetchrow(
        """
        SELECT account_id, net, tax, total, amount_paid, amount_remaining, tax_groups, hosted_invoice_url,
               invoice_pdf, payment_failed
        FROM stripe_invoices WHERE invoice_id = $1
        """,
        invoice_id,
    )
    return None if record is None else dict(record)


@dataclass(frozen=True, slots=True)
class StripeSync:
    id: int
    workspace_id: int
    since: date | None
    cursor: str | None
    created: int
    updated: int
    unchanged: int
    skipped: int
    failed: list[dict[str, str]]
    started_at: datetime
    finished_at: datetime | None


SYNC_COLUMNS = "id, workspace_id, since, cursor, created, updated, unchanged, skipped, failed, started_at, finished_at"


async def try_lock_sync(conn: Connection, workspace_id: int) -> bool:
    """A session lock on this connection: one backfill of a workspace runs at a time (released with unlock_sync or
    when the connection closes)."""
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", f"stripe-sync:{workspace_id}"
    )
    return locked


async def unlock_sync(conn: Connection, workspace_id: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", f"stripe-sync:{workspace_id}")


async def start_or_resume_sync(conn: Connection, workspace_id: int, since: date | None) -> tuple[StripeSync, bool]:
    """The workspace's unfinished sync (resumed from its cursor, with its own `since`), else a new one; (sync,
    resumed)."""
    record = await conn.fetchrow(
        f"SELECT {SYNC_COLUMNS} FROM stripe_syncs WHERE workspace_id = $1 AND finished_at IS NULL", workspace_id
    )
    if record is not None:
        # Resumed by a wider run (Sync now after an interrupted 3-day reconciliation): it reaches as far back.
        record = await conn.fetchrow(
            f"""
            UPDATE stripe_syncs SET since = CASE WHEN $2::date IS NULL OR since IS NULL THEN NULL
                                                 ELSE least(since, $2::date) END
            WHERE id = $1 RETURNING {SYNC_COLUMNS}
            """,
            record["id"], since,
        )  # fmt: skip
        return _sync(record), True
    # The console shows the newest; older finished runs (one per reconciliation) are not kept for ever.
    await conn.execute(
        """
        DELETE FROM stripe_syncs WHERE workspace_id = $1 AND finished_at IS NOT NULL
          AND id NOT IN (SELECT id FROM stripe_syncs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 20)
        """,
        workspace_id,
    )
    record = await conn.fetchrow(
        f"INSERT INTO stripe_syncs (workspace_id, since) VALUES ($1, $2) RETURNING {SYNC_COLUMNS}", workspace_id, since
    )
    return _sync(record), False


async def save_sync_progress(conn: Connection, sync: StripeSync, *, finished: bool = False) -> StripeSync:
    """The sync as saved (its finish time set when `finished`)."""
    record = await conn.fetchrow(
        f"""
        UPDATE stripe_syncs SET cursor = $2, created = $3, updated = $4, unchanged = $5, skipped = $6,
            failed = $7::jsonb, finished_at = CASE WHEN $8 THEN now() END
        WHERE id = $1 RETURNING {SYNC_COLUMNS}
        """,
        sync.id, sync.cursor, sync.created, sync.updated, sync.unchanged, sync.skipped, sync.failed,
        finished,
    )  # fmt: skip
    return _sync(record)


def _sync(record: Any) -> StripeSync:
    values = dict(record)
    failed = values["failed"]
    values["failed"] = json.loads(failed) if isinstance(failed, str) else list(failed)
    return StripeSync(**values)


async def select_latest_sync(conn: Connection, workspace_id: int) -> StripeSync | None:
    """The workspace's running sync, else its newest finished one (what the console shows)."""
    record = await conn.fetchrow(
        f"""
        SELECT {SYNC_COLUMNS} FROM stripe_syncs WHERE workspace_id = $1
        ORDER BY finished_at IS NULL DESC, id DESC LIMIT 1
        """,
        workspace_id,
    )
    return None if record is None else _sync(record)


async def select_stripe_invoice_of_intent(conn: Connection, intent_id: str) -> str | None:
    """The Stripe invoice a portal payment's intent pays (None: a payment of the portal's own invoice)."""
    found: str | None = await conn.fetchval(
        """
        SELECT i.stripe_invoice_id FROM payments p JOIN invoices i ON i.id = p.invoice_id
        WHERE p.stripe_payment_intent_id = $1
        """,
        intent_id,
    )
    return found


async def select_stripe_origin(conn: Connection, invoice_id: int) -> tuple[int, str] | None:
    """(workspace id, Stripe invoice id) of an invoice made in Stripe; None for the portal's own."""
    record = await conn.fetchrow(
        "SELECT workspace_id, stripe_invoice_id FROM invoices WHERE id = $1 AND stripe_invoice_id IS NOT NULL",
        invoice_id,
    )
    return None if record is None else (record["workspace_id"], record["stripe_invoice_id"])
