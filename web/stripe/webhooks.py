"""Applying a verified Stripe event: each event id once, in any order, in one transaction with its effects, through
a table from event type to handler (web/payments/ledger.py has the payment handlers).

An event whose type is not in the table is recorded and ignored; a handler that raises rolls everything back, the
event id included, so Stripe's retry applies it again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from db.payments import record_stripe_event
from db.rows import Connection
from web.stripe.accounts import StripeAccount


class MalformedEvent(ValueError):
    """A verified event without the fields its type must have: refused (400), never half-applied."""


# Amounts go into bigint columns; timestamps into datetimes (year 9999 at most).
_MAX_AMOUNT = 2**63 - 1
_MAX_TIMESTAMP = 253402300799


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created_at: datetime
    object: dict[str, Any]  # data.object: the intent, charge or invoice the event is about
    # What the type's read step (READS) got from Stripe before the transaction opened; None without one.
    read: Any = None

    @classmethod
    def from_payload(cls, payload: Any) -> StripeEvent:
        if not isinstance(payload, dict):
            raise MalformedEvent("not an event object")
        data = payload.get("data")
        created = payload.get("created", 0)
        if not isinstance(created, int) or isinstance(created, bool) or not 0 <= created <= _MAX_TIMESTAMP:
            raise MalformedEvent("created is not a timestamp")
        obj = data.get("object") if isinstance(data, dict) else None
        return cls(
            id=text_field(payload, "id"),
            type=str(payload.get("type", "")),
            created_at=datetime.fromtimestamp(created, UTC),
            object=obj if isinstance(obj, dict) else {},
        )


def text_field(obj: dict[str, Any], name: str) -> str:
    """A required, non-empty string field of an event or its object."""
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{name} is missing or not a string")
    return value


def amount_field(obj: dict[str, Any], name: str, default: int | None = None) -> int:
    """A whole amount in minor units (Stripe's integers), within what the ledger can hold."""
    value = obj.get(name, default)
    if value is None and default is not None:
        value = default
    # Stripe sends integers; localstripe echoes what it was posted (form-encoded digits), which is as good.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_AMOUNT:
        raise MalformedEvent(f"{name} is not an amount")
    return value


def dict_field(obj: dict[str, Any], name: str) -> dict[str, Any]:
    """An optional nested object: {} when absent or of another type."""
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


# A handler runs inside the event's transaction and says what happened ("applied", "no change", ...). It is
# given the account whose endpoint verified the event, and touches only that account's rows of that workspace.
EventHandler = Callable[[Connection, StripeAccount, StripeEvent], Awaitable[str]]
# A type may read from Stripe first, with no transaction open and no connection held while Stripe answers (a slow
# Stripe must not hold row locks or pool connections); its handler finds the answer in `event.read`.
EventRead = Callable[[asyncpg.Pool, StripeAccount, StripeEvent], Awaitable[Any]]


async def apply_event(
    pool: asyncpg.Pool,
    account: StripeAccount,
    event: StripeEvent,
    handlers: Mapping[str, EventHandler],
    reads: Mapping[str, EventRead] | None = None,
) -> str:
    """Apply one event verified with `account`'s signing secret; return what happened (for logs and tests)."""
    read = (reads or {}).get(event.type)
    if read is not None:
        event = replace(event, read=await read(pool, account, event))
    async with pool.acquire() as conn, conn.transaction():
        if not await record_stripe_event(conn, event.id, event.type, account.workspace_id):
            return "duplicate"
        handler = handlers.get(event.type)
        if handler is None:
            return "ignored"
        return await handler(conn, account, event)
