"""Migrations on an empty database: applied once, recorded, safe twice and from two connections at once."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from db.migrate import Migration, MigrationError, load_migrations, migrate
from tests.conftest import create_database, drop_database
from tests.queries import applied_versions


@pytest.fixture
async def empty_url(admin_url: str):  # type: ignore[no-untyped-def]
    url = await create_database(admin_url)
    yield url
    await drop_database(admin_url, url)


async def test_migrations_apply_on_empty_database_and_twice_is_a_no_op(empty_url: str) -> None:
    conn = await asyncpg.connect(empty_url)
    try:
        first = await migrate(conn)
        assert [m.version for m in first] == [m.version for m in load_migrations()]
        assert await migrate(conn) == []
        assert await applied_versions(conn) == [m.version for m in load_migrations()]
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        assert {
            "workspaces",
            "customers",
            "invoices",
            "invoice_lines",
            "portal_links",
            "activity",
            "payments",
            "currencies",
        } <= tables
    finally:
        await conn.close()


async def test_migrations_from_two_processes_at_once_apply_each_once(empty_url: str) -> None:
    a, b = await asyncpg.connect(empty_url), await asyncpg.connect(empty_url)
    try:
        results = await asyncio.gather(migrate(a), migrate(b))
        assert sorted(len(r) for r in results) == [0, len(load_migrations())]
        assert await a.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await a.close()
        await b.close()


async def test_migrations_refuse_an_edited_migration(empty_url: str) -> None:
    conn = await asyncpg.connect(empty_url)
    try:
        await migrate(conn)
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
        with pytest.raises(MigrationError, match="forward-only"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_migrations_failing_one_leaves_nothing_half_applied(empty_url: str) -> None:
    conn = await asyncpg.connect(empty_url)
    try:
        broken = [*load_migrations(), Migration(9999, "broken", "CREATE TABLE half (id int); SELECT 1/0;")]
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, broken)
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert 9999 not in await applied_versions(conn)
    finally:
        await conn.close()


async def test_typed_addresses_are_split_into_parts_and_flagged_for_review(empty_url: str) -> None:
    """0023 (e-invoices): today's free-text addresses become parts, best effort, marked for a person to check; an
    issued invoice's snapshot gains the parts beside its text; 0 % lines become zero-rated."""
    conn = await asyncpg.connect(empty_url)
    try:
        await migrate(conn, [m for m in load_migrations() if m.version < 23])
        typed = {
            "de": "Hauptstr. 1\n10115 Berlin\nGermany",
            "nl": "Keizersgracht 1\n1012 AB Amsterdam\nNederland",
            "uk": "10 Downing St\nLondon SW1A 2AA\nUnited Kingdom",
            "co": "c/o Foo\nBar Street 5\nD-80331 München\nDeutschland",
            "fr": "1 Rue de Rivoli\n75001 Paris",
        }
        for slug, address in typed.items():
            await conn.execute(
                "INSERT INTO workspaces (slug, legal_name, address, default_currency) VALUES ($1, 'x', $2, 'EUR')",
                slug, address,
            )  # fmt: skip
        await migrate(conn)
        parts = {
            row["slug"]: (row["street"], row["street_extra"], row["postcode"], row["city"], row["country_code"])
            for row in await conn.fetch("SELECT * FROM workspaces WHERE address_needs_review")
        }
        assert parts == {
            "de": ("Hauptstr. 1", "", "10115", "Berlin", "DE"),
            "nl": ("Keizersgracht 1", "", "1012 AB", "Amsterdam", "NL"),
            "uk": ("10 Downing St", "", "SW1A 2AA", "London", "GB"),
            "co": ("c/o Foo", "Bar Street 5", "80331", "München", "DE"),
            "fr": ("1 Rue de Rivoli", "", "75001", "Paris", ""),  # no country line: a person chooses it
        }
    finally:
        await conn.close()


async def test_waiting_threads_are_found_once_then_kept_by_triggers(empty_url: str) -> None:
    """0025 (the inbox at any size): threads already waiting are listed when it applies; from then on a
    customer's comment opens a thread, the team's reply or a "handled" mark closes it."""
    conn = await asyncpg.connect(empty_url)
    try:
        await migrate(conn, [m for m in load_migrations() if m.version < 25])
        ws = await conn.fetchval(
            "INSERT INTO workspaces (slug, legal_name, address, default_currency) VALUES ('w', 'x', '', 'EUR')"
            " RETURNING id"
        )
        customer = await conn.fetchval("INSERT INTO customers (workspace_id, name) VALUES ($1, 'c') RETURNING id", ws)
        invoices = [
            await conn.fetchval(
                "INSERT INTO invoices (workspace_id, customer_id, currency) VALUES ($1, $2, 'EUR') RETURNING id",
                ws,
                customer,
            )
            for _ in range(4)
        ]

        async def comment(invoice: int, role: str) -> int:
            return int(
                await conn.fetchval(
                    "INSERT INTO comments (invoice_id, author_role, author_name, body, client_key)"
                    " VALUES ($1, $2, 'n', 'b', md5(random()::text)) RETURNING id",
                    invoice,
                    role,
                )
            )

        waiting = await comment(invoices[0], "customer")  # waits
        await comment(invoices[1], "customer")
        await comment(invoices[1], "staff")  # answered
        handled = await comment(invoices[2], "guest")
        await conn.execute("UPDATE invoices SET thread_handled_through = $2 WHERE id = $1", invoices[2], handled)

        async def inbox() -> dict[int, int]:
            return {r["invoice_id"]: r["comment_id"] for r in await conn.fetch("SELECT * FROM thread_inbox")}

        await migrate(conn)
        assert await inbox() == {invoices[0]: waiting}

        newer = await comment(invoices[0], "guest")
        opened = await comment(invoices[3], "customer")
        assert await inbox() == {invoices[0]: newer, invoices[3]: opened}
        await comment(invoices[0], "staff")
        await conn.execute("UPDATE invoices SET thread_handled_through = $2 WHERE id = $1", invoices[3], opened - 1)
        assert await inbox() == {invoices[3]: opened}  # handled up to an older comment: still waiting
        await conn.execute("UPDATE invoices SET thread_handled_through = $2 WHERE id = $1", invoices[3], opened)
        assert await inbox() == {}
    finally:
        await conn.close()
