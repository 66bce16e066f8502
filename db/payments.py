"""Payments against an invoice. Amount paid is always computed: succeeded payments less their refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one, rows_to


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    invoice_id: int
    amount: int
    currency: str
    method: str
    status: str
    amount_refunded: int
    card_brand: str
    card_last4: str
    reference: str
    created_at: datetime
    succeeded_at: datetime | None
    stripe_payment_intent_id: str | None
    failure_message: str
    attempt_key: str | None
    attempt_held_until: datetime | None
    client: str  # the peer address that started a card attempt (limits count by it); '' otherwise
    # The Stripe account the card payment's intent lives in: a workspace's connected acct_ id, or None for the
    # deployment's account (STRIPE_SECRET_KEY).
    stripe_account_id: str | None = None


COLUMNS = columns(Payment)


async def insert_settled_payment(
    conn: Connection, *, invoice_id: int, amount: int, currency: str, method: str, reference: str = ""
) -> Payment:
    """A payment that has already arrived (bank transfer recorded by the billing team); a trigger bumps the
    invoice's version."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO payments (invoice_id, amount, currency, method, status, reference, succeeded_at)
        VALUES ($1, $2, $3, $4, 'succeeded', $5, now())
        RETURNING {COLUMNS}
        """,
        invoice_id, amount, currency, method, reference,
    )  # fmt: skip
    return row_to_one(Payment, record)


async def select_payment(conn: Connection, payment_id: int) -> Payment | None:
    return row_to(Payment, await conn.fetchrow(f"SELECT {COLUMNS} FROM payments WHERE id = $1", payment_id))


async def take_receipts_to_mail(conn: Connection, limit: int) -> list[tuple[int, int]]:
    """(payment id, invoice id) of successful payments whose receipt is not mailed yet, locked for the caller's
    transaction (another process skips them), oldest first."""
    records = await conn.fetch(
        """
        SELECT id, invoice_id FROM payments
        WHERE status = 'succeeded' AND receipt_mailed_at IS NULL
        ORDER BY succeeded_at LIMIT $1 FOR UPDATE SKIP LOCKED
        """,
        limit,
    )
    return [(record["id"], record["invoice_id"]) for record in records]


async def mark_receipt_mailed(conn: Connection, payment_id: int) -> None:
    await conn.execute("UPDATE payments SET receipt_mailed_at = now() WHERE id = $1", payment_id)


async def select_succeeded_payments(conn: Connection, invoice_id: int) -> list[Payment]:
    records = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM payments WHERE invoice_id = $1 AND status = 'succeeded'
        ORDER BY succeeded_at, id
        """,
        invoice_id,
    )
    return rows_to(Payment, records)


def amount_paid(payments: list[Payment]) -> int:
    return sum(p.amount - p.amount_refunded for p in payments if p.status == "succeeded")


# A succeeded payment is final (refunds are tracked separately); otherwise the newest Stripe event wins,
# except that 'succeeded' always counts even when it arrives before an older 'processing'.
async def apply_intent_status(
    conn: Connection,
    *,
    intent_id: str,
    status: str,
    event_at: datetime,
    card_brand: str = "",
    card_last4: str = "",
    failure_message: str = "",
    amount_received: int = 0,
) -> Payment | None:
    """Stripe's amount is what counts once it succeeded: it is the money that moved."""
    record = await conn.fetchrow(
        f"""
        UPDATE payments
        SET status = $2, status_event_at = $3, updated_at = now(),
            amount = CASE WHEN $2 = 'succeeded' AND $7 > 0 THEN $7 ELSE amount END,
            attempt_held_until = CASE WHEN $2 IN ('succeeded', 'processing') THEN attempt_held_until END,
            succeeded_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE NULL END,
            card_brand = CASE WHEN $4 <> '' THEN $4 ELSE card_brand END,
            card_last4 = CASE WHEN $5 <> '' THEN $5 ELSE card_last4 END,
            failure_message = CASE WHEN $2 = 'failed' THEN $6 ELSE '' END
        WHERE stripe_payment_intent_id = $1
          AND status <> 'succeeded'
          AND ($2 = 'succeeded' OR status_event_at IS NULL OR status_event_at <= $3)
        RETURNING {COLUMNS}
        """,
        intent_id, status, event_at, card_brand, card_last4, failure_message[:1000], amount_received,
    )  # fmt: skip
    return row_to(Payment, record)


async def apply_refunded_amount(conn: Connection, *, intent_id: str, amount_refunded: int) -> Payment | None:
    """Stripe reports the cumulative refunded amount, so applying an old event again never lowers it."""
    record = await conn.fetchrow(
        f"""
        UPDATE payments SET amount_refunded = LEAST(amount, GREATEST(amount_refunded, $2)), updated_at = now()
        WHERE stripe_payment_intent_id = $1
        RETURNING {COLUMNS}
        """,
        intent_id,
        amount_refunded,
    )
    return row_to(Payment, record)


async def lock_invoice_of_intent(
    conn: Connection, intent_id: str, *, workspace_id: int | None, stripe_account_id: str | None
) -> int | None:
    """Lock the invoice an intent pays, first, so every writer of one invoice's payments takes its locks in the
    same order (invoice, then payment) and cannot deadlock with a customer confirming at the same moment.

    Only a payment made in the event's own Stripe account counts, and for a workspace's endpoint only that
    workspace's (`workspace_id` None: the deployment's endpoint, whose account serves any workspace): None
    otherwise, and the event changes nothing."""
    value: int | None = await conn.fetchval(
        """
        SELECT i.id FROM invoices i JOIN payments p ON p.invoice_id = i.id
        WHERE p.stripe_payment_intent_id = $1 AND p.stripe_account_id IS NOT DISTINCT FROM $2
          AND ($3::bigint IS NULL OR i.workspace_id = $3)
        FOR UPDATE OF i
        """,
        intent_id, stripe_account_id, workspace_id,
    )  # fmt: skip
    return value


async def record_stripe_event(conn: Connection, event_id: str, event_type: str, workspace_id: int | None) -> bool:
    """True the first time an event id is seen at this endpoint (a workspace's, or the deployment's for None); call
    inside the transaction that applies the event."""
    status = await conn.execute(
        "INSERT INTO stripe_events (id, type, workspace_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        event_id, event_type, workspace_id,
    )  # fmt: skip
    return status == "INSERT 0 1"


async def insert_card_attempt(
    conn: Connection,
    *,
    invoice_id: int,
    amount: int,
    currency: str,
    attempt_key: str,
    client: str,
    now: datetime,
    stripe_account_id: str | None,
) -> tuple[Payment, bool]:
    """The payment row for one customer attempt, created once per attempt key; (row, created now)."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO payments (invoice_id, amount, currency, method, status, attempt_key, client, created_at,
                              stripe_account_id)
        VALUES ($1, $2, $3, 'card', 'pending', $4, left($5, 100), $6, $7)
        ON CONFLICT (attempt_key) DO NOTHING
        RETURNING {COLUMNS}
        """,
        invoice_id, amount, currency, attempt_key, client, now, stripe_account_id,
    )  # fmt: skip
    if record is not None:
        return row_to_one(Payment, record), True
    existing = await select_payment_by_attempt_key(conn, attempt_key)
    assert existing is not None  # the conflict that skipped the insert is this row
    return existing, False


async def select_payment_by_attempt_key(conn: Connection, attempt_key: str) -> Payment | None:
    return row_to(Payment, await conn.fetchrow(f"SELECT {COLUMNS} FROM payments WHERE attempt_key = $1", attempt_key))


async def count_card_attempts(conn: Connection, *, invoice_id: int, client: str, since: datetime) -> tuple[int, int]:
    """Card attempts started since `since`: (on the invoice, by the client on any invoice)."""
    record = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM payments
                WHERE method = 'card' AND invoice_id = $1 AND created_at > $3 AND stripe_invoice_payment_id IS NULL),
               (SELECT count(*) FROM payments WHERE method = 'card' AND client = left($2, 100) AND created_at > $3)
        """,
        invoice_id,
        client,
        since,
    )
    assert record is not None  # an aggregate always returns its one row
    return record[0], record[1]


async def lock_intent_id(conn: Connection, payment_id: int) -> str | None:
    """Lock the attempt row for the caller's transaction and read its intent id, so two requests for one attempt
    (a double submit) create its PaymentIntent once: the second waits, then finds the first one's."""
    value: str | None = await conn.fetchval(
        "SELECT stripe_payment_intent_id FROM payments WHERE id = $1 FOR UPDATE", payment_id
    )
    return value


async def set_payment_intent(conn: Connection, payment_id: int, intent_id: str) -> None:
    await conn.execute(
        """
        UPDATE payments SET stripe_payment_intent_id = $2, updated_at = now()
        WHERE id = $1 AND stripe_payment_intent_id IS NULL
        """,
        payment_id,
        intent_id,
    )


async def select_card_attempt(conn: Connection, invoice_id: int, attempt_key: str) -> Payment | None:
    """The attempt behind a payment step, only for the invoice whose link was used."""
    return row_to(
        Payment,
        await conn.fetchrow(
            f"SELECT {COLUMNS} FROM payments WHERE invoice_id = $1 AND attempt_key = $2 AND method = 'card'",
            invoice_id,
            attempt_key,
        ),
    )


async def amount_held_by_others(conn: Connection, invoice_id: int, payment_id: int, now: datetime) -> int:
    """What other attempts on this invoice may still collect: in flight at Stripe, or being confirmed at `now`."""
    held = await conn.fetchval(
        """
        SELECT COALESCE(sum(amount), 0) FROM payments
        WHERE invoice_id = $1 AND id <> $2
          AND (status = 'processing' OR (status IN ('pending', 'failed') AND attempt_held_until > $3))
        """,
        invoice_id,
        payment_id,
        now,
    )
    return int(held)


async def hold_attempt(conn: Connection, payment_id: int, *, amount: int, until: datetime) -> None:
    await conn.execute(
        "UPDATE payments SET amount = $2, attempt_held_until = $3, updated_at = now() WHERE id = $1",
        payment_id,
        amount,
        until,
    )


async def lower_attempt(conn: Connection, payment_id: int, amount: int) -> None:
    await conn.execute(
        "UPDATE payments SET amount = $2, attempt_held_until = NULL, updated_at = now() WHERE id = $1",
        payment_id,
        amount,
    )


async def end_attempt(conn: Connection, payment_id: int, *, status: str, failure_message: str = "") -> None:
    """A declined or cancelled attempt: it no longer holds anything. A succeeded one (the webhook won) stays."""
    await conn.execute(
        """
        UPDATE payments
        SET status = $2, failure_message = $3, attempt_held_until = NULL, updated_at = now()
        WHERE id = $1 AND status <> 'succeeded'
        """,
        payment_id, status, failure_message[:1000],
    )  # fmt: skip


async def set_card_details(conn: Connection, payment_id: int, *, brand: str, last4: str) -> None:
    await conn.execute(
        "UPDATE payments SET card_brand = $2, card_last4 = $3, updated_at = now() WHERE id = $1",
        payment_id,
        brand[:40],
        last4 if len(last4) == 4 and last4.isdigit() else "",
    )


async def select_open_card_intents(
    conn: Connection, workspace_id: int, stripe_account_id: str
) -> list[tuple[int, str]]:
    """(payment id, intent id) of the workspace's card attempts still under way in that account."""
    records = await conn.fetch(
        """
        SELECT p.id, p.stripe_payment_intent_id FROM payments p JOIN invoices i ON i.id = p.invoice_id
        WHERE i.workspace_id = $1 AND p.stripe_account_id = $2 AND p.method = 'card'
          AND p.status IN ('pending', 'processing') AND p.stripe_payment_intent_id IS NOT NULL
        ORDER BY p.id
        """,
        workspace_id,
        stripe_account_id,
    )
    return [(record["id"], record["stripe_payment_intent_id"]) for record in records]
