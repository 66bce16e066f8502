"""Helpers shared by the query modules: the connection type they take, and asyncpg records as frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

T = TypeVar("T")

# What every query function takes: a connection of its own or one borrowed from the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


def columns(cls: type) -> str:
    """The explicit column list for a row dataclass, in field order."""
    return ", ".join(f.name for f in fields(cls))


def row_to(cls: type[T], record: asyncpg.Record | None) -> T | None:
    if record is None:
        return None
    return cls(**{f.name: record[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def row_to_one(cls: type[T], record: asyncpg.Record | None) -> T:
    """For statements that always return a row (INSERT … RETURNING, an upsert, a row known to exist)."""
    row = row_to(cls, record)
    if row is None:
        raise LookupError(f"expected a {cls.__name__} row, the statement returned none")
    return row


def rows_to(cls: type[T], records: list[asyncpg.Record]) -> list[T]:
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return [cls(**{name: record[name] for name in names}) for record in records]


def prefixed(cls: type, alias: str) -> str:
    """Column list qualified by a table alias, for joins: 'i.id, i.status, ...'."""
    return ", ".join(f"{alias}.{f.name}" for f in fields(cls))


class Arguments:
    """Numbered query parameters for a query whose conditions depend on what was asked: a condition is left out
    rather than switched off with "$n IS NULL OR …", because a prepared statement's generic plan cannot use an
    index for a condition that might be switched off."""

    def __init__(self, *first: object) -> None:
        self.values = list(first)

    def add(self, value: object) -> str:
        """Bind one more value; the placeholder to write in the query."""
        self.values.append(value)
        return f"${len(self.values)}"


async def init_connection(conn: Connection) -> None:
    """Per-connection set-up for every pool: jsonb in and out as Python dicts."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
