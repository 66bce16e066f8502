"""Who hears of a comment, by SMTP or, without SMTP, through the outbox and the log."""

from __future__ import annotations

import logging

import asyncpg
import httpx
import pytest

from tests import factories
from tests.mailbox import Mailbox
from tests.queries import select_outbox
from tests.threads import CUSTOMER_EMAIL, comments_in, grant_access, new_key, post_comment, staff_reply
from tests.words import letters
from web.comments.posting import post_staff_reply
from web.mail import Mailer, parse_smtp_url


async def test_comment_staff_reply_mails_the_customer_and_the_thread(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settings, settle
) -> None:
    issued = await factories.invoice(conn)
    guest = "controller@customer.example"
    await conn.execute("UPDATE invoices SET comment_mode = 'otp' WHERE id = $1", issued.invoice.id)
    await grant_access(client, issued, mailbox, email=guest, name="Gina")
    await post_comment(client, issued, "Which PO number should we use?")
    await mailbox.wait_for("billing@acme.example")

    posted = await post_staff_reply(
        conn, issued.invoice, author_name="Sam from Acme", body="PO-4711, thanks!", client_key=new_key(),
        thread_url=f"http://testserver{issued.url}#comments", letters=letters(),
    )  # fmt: skip
    assert posted.created and len(posted.mail_ids) == 2
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        await Mailer(settings.smtp_url, settings.mail_from).deliver(pool, posted.mail_ids)
    finally:
        await pool.close()
    for recipient in (CUSTOMER_EMAIL, guest):
        reply = (await mailbox.wait_for(recipient, 1 if recipient == CUSTOMER_EMAIL else 2))[-1]
        text = reply.get_payload(decode=True).decode()
        assert "PO-4711, thanks!" in text and issued.url in text
    await settle()
    page = await client.get(issued.url)
    assert [(c["author"], c["role"]) for c in comments_in(page.text)] == [
        ("Gina", "Guest, e-mail verified"), ("Sam from Acme", "Billing team")
    ]  # fmt: skip


async def test_comment_mail_without_smtp_stays_in_the_outbox_and_the_log(
    conn: asyncpg.Connection, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    issued = await factories.invoice(conn)
    posted = await staff_reply(conn, issued, "Hello")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        with caplog.at_level(logging.INFO, logger="web.mail"):
            await Mailer("", "invoices@acme.example").deliver(pool, posted.mail_ids)
    finally:
        await pool.close()
    assert "outbox (no SMTP_URL set) to=ap@customer.example" in caplog.text and "Hello" in caplog.text
    [mail] = await select_outbox(conn, issued.workspace.id)
    assert mail.sent_at is None and mail.recipient == CUSTOMER_EMAIL


async def test_comment_mail_failure_is_recorded_not_raised(conn: asyncpg.Connection, database_url: str) -> None:
    issued = await factories.invoice(conn)
    posted = await staff_reply(conn, issued, "Hello")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        await Mailer("smtp://127.0.0.1:9", "invoices@acme.example", timeout=2).deliver(pool, posted.mail_ids)
    finally:
        await pool.close()
    [mail] = await select_outbox(conn, issued.workspace.id)
    assert mail.sent_at is None and "Connection refused" in mail.last_error


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, "", "", "optional")),
        ("smtps://u%40x:p%3Aw@mail.example", ("mail.example", 465, "u@x", "p:w", "implicit")),
        ("smtp+starttls://u:p@mail.example", ("mail.example", 587, "u", "p", "required")),
    ],
)
def test_comment_mail_smtp_url_forms(url: str, expected: tuple[object, ...]) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.username, target.password, target.tls) == expected


def test_comment_mail_bad_smtp_url_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="SMTP_URL must look like"):
        parse_smtp_url("http://mail.example")
