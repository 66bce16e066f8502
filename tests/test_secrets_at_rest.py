"""Secrets at rest: TOTP secrets of staff and comment writers are sealed under SECRET_KEY; a wrong key or a
tampered value does not open; rotation reseals every row; a dump of every table shows no secret in clear."""

from __future__ import annotations

import dataclasses
import re

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup

from db.comment_access import select_or_start_enrolment
from db.invoices import set_comment_settings
from db.staff import select_staff_by_email, start_totp_enrolment
from db.stripe_connections import StripeConnection, save_stripe_connection, select_stripe_connection
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in
from tests.mailbox import Mailbox
from tests.sealed import BOX, opened
from tests.threads import grant_access
from web.app import create_app
from web.cli import rotate_secrets
from web.dev.local_stripe import create_account
from web.secret_box import SecretBox, SecretUnreadable, is_sealed
from web.settings import Settings

NEW_KEY = "the-new-secret-key-after-rotation-0123456789abcdef"
_BASE32_SECRET = re.compile(r"(?<![A-Z2-7])[A-Z2-7]{32}(?![A-Z2-7])")


def test_secrets_seal_and_open_only_with_the_key() -> None:
    sealed = BOX.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert is_sealed(sealed) and "JBSWY3DP" not in sealed
    assert BOX.open(sealed) == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert BOX.seal("x") != BOX.seal("x")  # a fresh IV each time: equal secrets do not look equal
    with pytest.raises(SecretUnreadable):
        SecretBox(NEW_KEY).open(sealed)  # the wrong key
    tampered = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(SecretUnreadable):
        BOX.open(tampered)  # authenticated: a changed byte does not open
    assert BOX.open("PLAINSECRETFROMBEFORE") == "PLAINSECRETFROMBEFORE"  # stored before encryption, until rotated
    with pytest.raises(ValueError, match="at least 32"):
        SecretBox("short")


def test_secrets_the_app_refuses_to_start_without_a_key(settings: Settings) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY is not set"):
        create_app(dataclasses.replace(settings, secret_key=""))


async def test_secrets_rotation_reseals_every_row(conn: asyncpg.Connection, settings: Settings) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    await start_totp_enrolment(conn, staff.id, BOX.seal("STAFFSECRETSTAFFSECRETSTAFFSECRE"))
    await select_or_start_enrolment(conn, ws.id, "writer@example.com", BOX.seal("WRITERSECRETWRITERSECRETWRITERSE"))
    await select_or_start_enrolment(conn, ws.id, "legacy@example.com", "LEGACYPLAINLEGACYPLAINLEGACYPLAI")
    await save_stripe_connection(conn, StripeConnection(
        workspace_id=ws.id, account_id="acct_rotation", account_name="", livemode=False,
        secret_key=BOX.seal("sk_test_rotationrotation"), key_kind="secret", key_last4="tion",
        publishable_key="pk_test_rotationrotation", webhook_endpoint_id="we_rotation", webhook_url="http://x/",
        webhook_secret=BOX.seal("whsec_rotationrotation"), connect_account_id=None, connected_by="",
    ))  # fmt: skip

    before = await conn.fetch("SELECT secret FROM totp_enrolments ORDER BY email")
    with pytest.raises(SecretUnreadable):  # the old key is not given: nothing opens, nothing changes
        await rotate_secrets(str(settings.database_url), SecretBox(NEW_KEY))
    assert await conn.fetch("SELECT secret FROM totp_enrolments ORDER BY email") == before
    assert await rotate_secrets(str(settings.database_url), SecretBox(NEW_KEY, [settings.secret_key])) == 5

    new_only = SecretBox(NEW_KEY)
    stored = [row["secret"] for row in await conn.fetch("SELECT secret FROM totp_enrolments ORDER BY email")]
    stored.append((await select_staff_by_email(conn, staff.email)).totp_secret)  # type: ignore[union-attr]
    assert all(is_sealed(value) for value in stored)
    assert sorted(new_only.open(value) for value in stored) == sorted(
        ["LEGACYPLAINLEGACYPLAINLEGACYPLAI", "STAFFSECRETSTAFFSECRETSTAFFSECRE", "WRITERSECRETWRITERSECRETWRITERSE"]
    )
    with pytest.raises(SecretUnreadable):
        BOX.open(stored[0])  # the old key alone no longer opens anything
    stripe = await select_stripe_connection(conn, ws.id)
    assert stripe is not None
    assert new_only.open(stripe.secret_key) == "sk_test_rotationrotation"
    assert new_only.open(stripe.webhook_secret) == "whsec_rotationrotation"


async def test_secrets_a_dump_of_every_table_shows_none_in_clear(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, mailbox: Mailbox, stripe_base: str
) -> None:
    issued = await factories.invoice(conn)
    staff = await account(conn, issued.workspace)
    csrf = await sign_in(client, conn, clock, staff.email)  # enrols the staff account's TOTP
    stripe = create_account(stripe_base, "Dump Test")
    keys = {"secret_key": stripe["secret_key"], "publishable_key": stripe["publishable_key"]}
    connected = await client.post("/console/settings/stripe/connect", data={"csrf": csrf, **keys})
    assert connected.status_code == 303, connected.text  # the workspace's own key and webhook secret are stored
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=True)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as writer:
        enrol = await grant_access(writer, issued, mailbox)  # shows the writer's new TOTP secret
    writer_secret = BeautifulSoup(enrol.text, "html.parser").select_one(".totp-secret code").get_text().replace(" ", "")
    staff_secret = opened((await select_staff_by_email(conn, staff.email)).totp_secret)  # type: ignore[union-attr]

    tables = [
        row["tablename"] for row in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    lines = []
    for table in tables:  # every row of every table, as text: what a dump holds
        lines += [str(row["line"]) for row in await conn.fetch(f'SELECT t::text AS line FROM "{table}" t')]
    dump = "\n".join(lines)
    assert "totp_enrolments" in tables and "staff" in tables
    for secret in (writer_secret, staff_secret):
        assert len(secret) == 32 and secret not in dump
    assert _BASE32_SECRET.findall(dump) == []  # no TOTP secret of anyone
    assert "sk_" not in dump and "whsec_" not in dump and stripe["secret_key"][8:] not in dump
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 1
