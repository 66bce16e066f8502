"""Each workspace's own Stripe account: the connection row (keys and webhook secret sealed by the caller), and what
the console shows about it (the newest event its endpoint received)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, prefixed, row_to, row_to_one, rows_to


@dataclass(frozen=True, slots=True)
class StripeConnection:
    workspace_id: int
    account_id: str
    account_name: str
    livemode: bool
    secret_key: str  # sealed
    key_kind: str  # 'secret' or 'restricted'
    key_last4: str
    publishable_key: str
    webhook_endpoint_id: str
    webhook_url: str
    webhook_secret: str  # sealed
    connect_account_id: str | None
    connected_by: str
    connected_at: datetime | None = None  # None until saved: the database sets it
    # Sent invoices are also issued in this account (migration 0015); kept when the same account's key is replaced.
    issue_invoices: bool = False
    # Stripe's customer portal is offered in the billing history (migration 0019); kept like issue_invoices.
    customer_portal: bool = False


COLUMNS = columns(StripeConnection)


async def select_stripe_connection(conn: Connection, workspace_id: int) -> StripeConnection | None:
    return row_to(
        StripeConnection,
        await conn.fetchrow(f"SELECT {COLUMNS} FROM stripe_connections WHERE workspace_id = $1", workspace_id),
    )


async def select_workspace_card_account(conn: Connection, workspace_id: int) -> tuple[StripeConnection | None, bool]:
    """The workspace's own connection, and whether the deployment's account may serve it (one query: the
    payment path asks this on every attempt)."""
    record = await conn.fetchrow(
        f"""
        SELECT w.deployment_stripe, {prefixed(StripeConnection, "c")}
        FROM workspaces w LEFT JOIN stripe_connections c ON c.workspace_id = w.id
        WHERE w.id = $1
        """,
        workspace_id,
    )
    if record is None:
        return None, False
    own = row_to(StripeConnection, record) if record["workspace_id"] is not None else None
    return own, bool(record["deployment_stripe"])


@dataclass(frozen=True, slots=True)
class CardKeys:
    """What decides whether a workspace's customers can pay by card, and with which publishable key."""

    own_publishable_key: str | None  # of the account the workspace connected; None: none connected
    deployment_stripe: bool  # the deployment's account may serve it (it never connected its own)
    own_account_id: str | None = None


async def select_card_keys(conn: Connection, workspace_id: int) -> CardKeys:
    own, deployment_allowed = await select_workspace_card_account(conn, workspace_id)
    if own is None:
        return CardKeys(None, deployment_allowed)
    return CardKeys(own.publishable_key, deployment_allowed, own.account_id)


# Settings of a connection that a new key for the same account keeps, and another account starts without.
_SAME_ACCOUNT_SETTINGS = ("issue_invoices", "customer_portal")


async def save_stripe_connection(conn: Connection, connection: StripeConnection) -> StripeConnection:
    """Insert the workspace's connection, or replace the one it had (a new key or another account). From now on
    the deployment's account no longer serves the workspace, even after a disconnect."""
    await conn.execute("UPDATE workspaces SET deployment_stripe = false WHERE id = $1", connection.workspace_id)
    names = [name for name in COLUMNS.split(", ") if name not in ("connected_at", *_SAME_ACCOUNT_SETTINGS)]
    kept = ", ".join(
        f"{name} = stripe_connections.{name} AND stripe_connections.account_id = excluded.account_id"
        for name in _SAME_ACCOUNT_SETTINGS
    )
    values = [getattr(connection, name) for name in names]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name != "workspace_id")
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    return row_to_one(
        StripeConnection,
        await conn.fetchrow(
            f"""
            INSERT INTO stripe_connections ({", ".join(names)}) VALUES ({placeholders})
            ON CONFLICT (workspace_id) DO UPDATE SET {updates}, connected_at = now(), {kept}
            RETURNING {COLUMNS}
            """,
            *values,
        ),
    )


async def set_connection_setting(conn: Connection, workspace_id: int, name: str, on: bool) -> bool:
    """One of the connection's own settings (_SAME_ACCOUNT_SETTINGS) switched; False when the workspace has no
    connected account (such a setting means nothing without one)."""
    if name not in _SAME_ACCOUNT_SETTINGS:
        raise ValueError(f"{name} is not a setting of a Stripe connection")
    changed = await conn.fetchval(
        f"UPDATE stripe_connections SET {name} = $2 WHERE workspace_id = $1 RETURNING true", workspace_id, on
    )
    return bool(changed)


async def select_portal_customer(conn: Connection, workspace_id: int, email: str) -> str | None:
    """The Stripe customer id Stripe's customer portal opens for an address, when the workspace offers it: the
    newest customer of the workspace billed there that has one."""
    found: str | None = await conn.fetchval(
        """
        SELECT c.stripe_customer_id FROM customers c
        JOIN stripe_connections s ON s.workspace_id = c.workspace_id AND s.customer_portal
        WHERE c.workspace_id = $1 AND lower(c.email) = $2 AND c.stripe_customer_id IS NOT NULL
        ORDER BY c.id DESC LIMIT 1
        """,
        workspace_id, email,
    )  # fmt: skip
    return found


async def delete_stripe_connection(conn: Connection, workspace_id: int) -> StripeConnection | None:
    """Forget the workspace's connection (card payment stops at once); the deleted row, to clean up at Stripe."""
    return row_to(
        StripeConnection,
        await conn.fetchrow(
            f"DELETE FROM stripe_connections WHERE workspace_id = $1 RETURNING {COLUMNS}", workspace_id
        ),
    )


async def select_last_webhook(conn: Connection, workspace_id: int | None) -> tuple[str, datetime] | None:
    """Type and arrival time of the newest event verified at the workspace's endpoint (None: the deployment's)."""
    # Two statements, so each uses stripe_events_newest (IS NOT DISTINCT FROM could not).
    if workspace_id is None:
        query = "SELECT type, received_at FROM stripe_events WHERE workspace_id IS NULL"
        record = await conn.fetchrow(query + " ORDER BY received_at DESC, id LIMIT 1")
    else:
        query = "SELECT type, received_at FROM stripe_events WHERE workspace_id = $1"
        record = await conn.fetchrow(query + " ORDER BY received_at DESC, id LIMIT 1", workspace_id)
    return None if record is None else (record["type"], record["received_at"])


async def select_sealed_stripe_secrets(conn: Connection) -> list[tuple[int, str, str]]:
    """Every connection's sealed key and webhook secret, locked for key rotation (db/sealed_secrets.py)."""
    records = await conn.fetch(
        "SELECT workspace_id, secret_key, webhook_secret FROM stripe_connections ORDER BY workspace_id FOR UPDATE"
    )
    return [(record["workspace_id"], record["secret_key"], record["webhook_secret"]) for record in records]


async def select_all_stripe_connections(conn: Connection) -> list[StripeConnection]:
    """Every workspace's connection (the periodic reconciliation walks them)."""
    return rows_to(
        StripeConnection, await conn.fetch(f"SELECT {COLUMNS} FROM stripe_connections ORDER BY workspace_id")
    )
