"""Portal invoices also issued in Stripe (migration 0015): the mirror row with Stripe's side as last seen, and the
outbox of steps (issue, void, uncollectible, payment) applied to Stripe in order, with retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from db.rows import Connection, columns, row_to, rows_to

# How long a worker holds a step it took before another process may take it (a crashed worker's step returns):
# far beyond the longest step (an invoice of hundreds of lines is hundreds of Stripe calls, each with its timeout).
LEASE = timedelta(minutes=15)
# A step that failed in an unexpected way this often stops for a person, instead of being retried forever.
MAX_UNEXPECTED = 5


@dataclass(frozen=True, slots=True)
class StripeMirror:
    invoice_id: int
    workspace_id: int
    account_id: str
    stripe_customer_id: str | None
    stripe_invoice_id: str | None
    stripe_number: str | None
    stripe_status: str
    total: int | None
    amount_remaining: int | None
    hosted_invoice_url: str
    invoice_pdf: str
    synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class MirrorTask:
    id: int
    invoice_id: int
    kind: str
    payment_id: int | None
    attempts: int
    next_attempt_at: datetime
    taken_at: datetime | None
    last_error: str
    stuck: bool
    created_at: datetime
    done_at: datetime | None


MIRROR_COLUMNS = columns(StripeMirror)
TASK_COLUMNS = columns(MirrorTask)


async def issues_invoices_in(conn: Connection, workspace_id: int) -> str | None:
    """The account the workspace's sent invoices are also issued in: its connected one, when the setting is on."""
    account: str | None = await conn.fetchval(
        "SELECT account_id FROM stripe_connections WHERE workspace_id = $1 AND issue_invoices", workspace_id
    )
    return account


async def queue_issue(conn: Connection, invoice_id: int, workspace_id: int, account_id: str) -> None:
    """At Send, in its transaction: the invoice is to be issued in that account (the first step of its outbox)."""
    await conn.execute(
        "INSERT INTO stripe_mirrors (invoice_id, workspace_id, account_id) VALUES ($1, $2, $3)",
        invoice_id, workspace_id, account_id,
    )  # fmt: skip
    await conn.execute("INSERT INTO stripe_mirror_tasks (invoice_id, kind) VALUES ($1, 'issue')", invoice_id)


async def select_mirror(conn: Connection, invoice_id: int) -> StripeMirror | None:
    return row_to(
        StripeMirror,
        await conn.fetchrow(f"SELECT {MIRROR_COLUMNS} FROM stripe_mirrors WHERE invoice_id = $1", invoice_id),
    )


async def select_mirror_by_stripe_id(conn: Connection, account_id: str, stripe_invoice_id: str) -> StripeMirror | None:
    return row_to(
        StripeMirror,
        await conn.fetchrow(
            f"SELECT {MIRROR_COLUMNS} FROM stripe_mirrors WHERE account_id = $1 AND stripe_invoice_id = $2",
            account_id, stripe_invoice_id,
        ),
    )  # fmt: skip


async def save_stripe_ids(
    conn: Connection, invoice_id: int, *, customer_id: str | None = None, stripe_invoice_id: str | None = None
) -> None:
    """Kept as soon as Stripe made them, so a retry after a failure goes on with the same customer and invoice."""
    await conn.execute(
        """
        UPDATE stripe_mirrors SET stripe_customer_id = coalesce($2, stripe_customer_id),
                                  stripe_invoice_id = coalesce($3, stripe_invoice_id)
        WHERE invoice_id = $1
        """,
        invoice_id, customer_id, stripe_invoice_id,
    )  # fmt: skip


async def save_stripe_state(conn: Connection, invoice_id: int, state: dict[str, Any]) -> bool:
    """Stripe's side as just read (number, status, amounts, links); False when nothing changed."""
    changed = await conn.fetchval(
        """
        UPDATE stripe_mirrors
        SET stripe_number = $2, stripe_status = $3, total = $4, amount_remaining = $5, hosted_invoice_url = $6,
            invoice_pdf = $7, synced_at = now()
        WHERE invoice_id = $1
          AND (stripe_number, stripe_status, total, amount_remaining, hosted_invoice_url, invoice_pdf)
              IS DISTINCT FROM ($2, $3, $4, $5, $6, $7)
        RETURNING true
        """,
        invoice_id, state["number"], state["status"], state["total"], state["amount_remaining"],
        state["hosted_invoice_url"], state["invoice_pdf"],
    )  # fmt: skip
    return bool(changed)


async def save_customer_stripe_id(conn: Connection, workspace_id: int, customer_id: int, stripe_id: str) -> None:
    """The customer's Stripe id, for its next invoices (kept if it has one already, or another customer holds it)."""
    await conn.execute(
        """
        UPDATE customers SET stripe_customer_id = $3
        WHERE workspace_id = $1 AND id = $2 AND stripe_customer_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM customers WHERE workspace_id = $1 AND stripe_customer_id = $3)
        """,
        workspace_id, customer_id, stripe_id,
    )  # fmt: skip


async def select_customer_stripe_id(conn: Connection, customer_id: int) -> str | None:
    found: str | None = await conn.fetchval("SELECT stripe_customer_id FROM customers WHERE id = $1", customer_id)
    return found


async def select_waiting_invoices(conn: Connection, limit: int) -> list[int]:
    """Invoices whose first unfinished step is due now (not stuck, not running, not waiting to be retried)."""
    records = await conn.fetch(
        """
        SELECT invoice_id FROM (
            SELECT DISTINCT ON (invoice_id) invoice_id, stuck, next_attempt_at, taken_at
            FROM stripe_mirror_tasks WHERE done_at IS NULL ORDER BY invoice_id, id
        ) first
        WHERE NOT stuck AND next_attempt_at <= now() AND (taken_at IS NULL OR taken_at < now() - $2::interval)
        ORDER BY next_attempt_at LIMIT $1
        """,
        limit, LEASE,
    )  # fmt: skip
    return [record["invoice_id"] for record in records]


async def take_next_task(conn: Connection, invoice_id: int) -> MirrorTask | None:
    """The invoice's first unfinished step, if it is due: taken (leased, its attempt counted) so no other worker
    takes it meanwhile. None when it is stuck, running, waiting to be retried, or there is none. The invoice's
    mirror row is locked for the choice, so two workers at once never take two of its steps out of order."""
    record = await conn.fetchrow(
        f"""
        WITH mirror AS (
            SELECT invoice_id FROM stripe_mirrors WHERE invoice_id = $1 FOR NO KEY UPDATE SKIP LOCKED
        ), first AS (
            SELECT t.id FROM stripe_mirror_tasks t JOIN mirror USING (invoice_id)
            WHERE t.done_at IS NULL ORDER BY t.id LIMIT 1
        )
        UPDATE stripe_mirror_tasks t SET taken_at = now(), attempts = attempts + 1
        FROM first
        WHERE t.id = first.id AND NOT t.stuck AND t.next_attempt_at <= now()
          AND (t.taken_at IS NULL OR t.taken_at < now() - $2::interval)
        RETURNING {", ".join("t." + name for name in TASK_COLUMNS.split(", "))}
        """,
        invoice_id, LEASE,
    )  # fmt: skip
    return row_to(MirrorTask, record)


async def finish_task(conn: Connection, task: MirrorTask) -> bool:
    """False when the lease was lost (the step ran past it and another worker took it again)."""
    done = await conn.fetchval(
        """
        UPDATE stripe_mirror_tasks SET done_at = now(), last_error = '', taken_at = NULL
        WHERE id = $1 AND taken_at = $2 RETURNING true
        """,
        task.id, task.taken_at,
    )  # fmt: skip
    return bool(done)


async def fail_task(conn: Connection, task: MirrorTask, error: str, *, retry_in: timedelta | None) -> None:
    """Retried after `retry_in` (Stripe unreachable); None: stuck until a person asks again (Stripe refused)."""
    await conn.execute(
        """
        UPDATE stripe_mirror_tasks
        SET last_error = $3, stuck = $4::interval IS NULL, next_attempt_at = now() + coalesce($4::interval, '0'),
            taken_at = NULL
        WHERE id = $1 AND taken_at = $2
        """,
        task.id, task.taken_at, error[:1000], retry_in,
    )  # fmt: skip


async def retry_now(conn: Connection, invoice_id: int) -> bool:
    """The console's Retry now: the invoice's stopped or waiting steps are due at once (a running one is left to
    its worker); False when none waits."""
    changed = await conn.fetchval(
        """
        UPDATE stripe_mirror_tasks SET stuck = false, next_attempt_at = now()
        WHERE invoice_id = $1 AND done_at IS NULL AND (taken_at IS NULL OR taken_at < now() - $2::interval)
          AND (stuck OR next_attempt_at > now())
        RETURNING true
        """,
        invoice_id, LEASE,
    )  # fmt: skip
    return bool(changed)


async def give_up_steps(conn: Connection, invoice_id: int, by: str) -> bool:
    """The console's Stop trying: the invoice's unfinished steps end without reaching Stripe (the account was
    disconnected for good, or the step was done by hand in Stripe). False when none is unfinished."""
    changed = await conn.fetchval(
        """
        UPDATE stripe_mirror_tasks SET done_at = now(), stuck = false, taken_at = NULL,
                                       last_error = left('Given up by ' || $2 || ': ' || last_error, 1000)
        WHERE invoice_id = $1 AND done_at IS NULL RETURNING true
        """,
        invoice_id, by,
    )  # fmt: skip
    return bool(changed)


async def select_tasks(conn: Connection, invoice_id: int) -> list[MirrorTask]:
    return rows_to(
        MirrorTask,
        await conn.fetch(
            f"SELECT {TASK_COLUMNS} FROM stripe_mirror_tasks WHERE invoice_id = $1 ORDER BY id", invoice_id
        ),
    )
