"""Helpers shared by the query modules: turning asyncpg records into frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


def columns(cls: type) -> str:
    """The explicit column list for a row dataclass, in field order."""
    return ", ".join(f.name for f in fields(cls))


def row_to(cls: type[T], record: asyncpg.Record | None) -> T | None:
    if record is None:
        return None
    return cls(**{f.name: record[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def rows_to(cls: type[T], records: list[asyncpg.Record]) -> list[T]:
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return [cls(**{name: record[name] for name in names}) for record in records]


def prefixed(cls: type, alias: str) -> str:
    """Column list qualified by a table alias, for joins: 'i.id, i.status, ...'."""
    return ", ".join(f"{alias}.{f.name}" for f in fields(cls))


Json = dict[str, Any]


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up for every pool: jsonb in and out as Python dicts."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
