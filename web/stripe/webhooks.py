"""Applying a verified Stripe event: each event id once, in any order, in one transaction with its effects, through
a table from event type to handler (web/payments/ledger.py has the payment handlers).

An event whose type is not in the table is recorded and ignored; a handler that raises rolls everything back, the
event id included, so Stripe's retry applies it again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from db.payments import record_stripe_event
from db.rows import Connection
from web.stripe.gateway import StripeGateway


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created_at: datetime
    object: dict[str, Any]  # data.object: the intent, charge or invoice the event is about

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> StripeEvent:
        data = payload.get("data") or {}
        return cls(
            id=str(payload["id"]),
            type=str(payload.get("type", "")),
            created_at=datetime.fromtimestamp(int(payload.get("created") or 0), UTC),
            object=(data.get("object") or {}) if isinstance(data, dict) else {},
        )


# A handler runs inside the event's transaction and says what happened ("applied", "no change", ...).
EventHandler = Callable[[Connection, StripeGateway | None, StripeEvent], Awaitable[str]]


async def apply_event(
    pool: asyncpg.Pool, gateway: StripeGateway | None, event: StripeEvent, handlers: Mapping[str, EventHandler]
) -> str:
    """Apply one verified event; return what happened (for logs and tests)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await record_stripe_event(conn, event.id, event.type):
            return "duplicate"
        handler = handlers.get(event.type)
        if handler is None:
            return "ignored"
        return await handler(conn, gateway, event)
