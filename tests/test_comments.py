"""Comment threads over HTTP with a real PostgreSQL and a real SMTP server catching the codes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup

from db.invoices import set_comment_settings
from db.workspaces import Workspace
from tests import factories
from tests.conftest import MovableClock
from tests.mailbox import Mailbox
from tests.threads import (
    CUSTOMER_EMAIL,
    HX,
    ask_code,
    comments_in,
    form_error,
    form_step,
    grant_access,
    new_key,
    post_comment,
)
from tests.words import letters
from web.comments.access import CODE_SENT, MAX_REQUESTS_PER_INVOICE, AccessError, request_code
from web.comments.form import SESSION_COOKIE
from web.i18n.catalogs import ENGLISH
from web.mail import Mailer

# Mail stays in the outbox (no SMTP_URL): these calls test the rules, not the delivery.
OUTBOX_ONLY = Mailer("", "Invoices <invoices@example.com>")


async def _issued(
    conn: asyncpg.Connection, mode: str = "customer", totp: bool = False, ws: Workspace | None = None
) -> factories.Issued:
    issued = await factories.invoice(conn, ws=ws)
    await set_comment_settings(conn, issued.invoice.id, mode=mode, require_totp=totp)
    return issued


async def _count(conn: asyncpg.Connection, table: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table}")


async def test_comments_customer_writes_after_code_and_everyone_reads(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settle
) -> None:
    issued = await _issued(conn, "customer")
    page = await client.get(issued.url)
    assert "No comments yet." in page.text and form_step(page.text) == "email"

    asked = await ask_code(client, issued, body="Is the VAT right?")
    assert asked.status_code == 200 and CODE_SENT.text in asked.text and form_step(asked.text) == "code"
    assert "Is the VAT right?" in asked.text  # the draft travels through the steps
    code = await mailbox.code_for(CUSTOMER_EMAIL)
    mail = mailbox.to(CUSTOMER_EMAIL)[0]
    assert issued.invoice.number in mail["Subject"] and mail["From"] == "Acme invoices <invoices@acme.example>"
    stored = await conn.fetchrow("SELECT code_hash, body FROM comment_codes, outbox LIMIT 1")
    assert code.encode() not in stored["code_hash"] and code not in stored["body"]  # hashed; redacted once sent

    wrong = "000000" if code != "000000" else "111111"
    refused = await client.post(
        f"{issued.url}/comments/verify", data={"email": CUSTOMER_EMAIL, "code": wrong}, headers=HX
    )
    assert refused.status_code == 422 and form_error(refused.text) == "That code is not right. 4 tries left."
    verified = await client.post(
        f"{issued.url}/comments/verify", data={"email": CUSTOMER_EMAIL, "code": code}, headers=HX
    )
    assert verified.status_code == 200 and form_step(verified.text) == "compose"
    cookie = verified.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert f"Path={issued.url}" in cookie and "Max-Age=" in cookie and "Secure" not in cookie  # plain http here

    posted = await post_comment(client, issued, "Is the VAT right?\nLine two")
    assert posted.status_code == 200 and form_step(posted.text) == "compose"
    [shown] = comments_in(posted.text)
    assert (
        shown["author"] == "Claire" and shown["role"] == "Customer" and shown["body"] == "Is the VAT right?\nLine two"
    )
    assert BeautifulSoup(posted.text, "html.parser").select_one("#comment-body").get_text() == ""  # a fresh form

    row = await conn.fetchrow("SELECT author_role, author_email FROM comments")
    assert dict(row) == {"author_role": "customer", "author_email": CUSTOMER_EMAIL}
    assert await conn.fetchval("SELECT count(*) FROM activity WHERE kind = 'commented'") == 1
    [notice] = await mailbox.wait_for("billing@acme.example")
    assert "Claire <ap@customer.example> (the customer)" in notice.get_payload(decode=True).decode()

    await settle()
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as stranger:
        public = await stranger.get(issued.url)
    assert [c["body"] for c in comments_in(public.text)] == ["Is the VAT right?\nLine two"]
    assert CUSTOMER_EMAIL not in BeautifulSoup(public.text, "html.parser").select_one("#comments").get_text()
    assert form_step(public.text) == "email"
    mine = await client.get(issued.url)  # the writer's own page keeps them signed in
    assert form_step(mine.text) == "compose" and len(comments_in(mine.text)) == 1


async def test_comments_customer_mode_gives_other_addresses_the_same_answer(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    stranger = await ask_code(client, issued, email="someone@else.example")
    customer = await ask_code(client, issued, email=CUSTOMER_EMAIL)
    assert stranger.status_code == customer.status_code == 200
    assert CODE_SENT.text in stranger.text and CODE_SENT.text in customer.text
    await mailbox.wait_for(CUSTOMER_EMAIL)
    await asyncio.sleep(0.2)
    assert mailbox.to("someone@else.example") == []
    refused = await client.post(
        f"{issued.url}/comments/verify", data={"email": "someone@else.example", "code": "123456"}, headers=HX
    )
    assert refused.status_code == 422 and form_error(refused.text) == "That code is not right. 4 tries left."
    assert await _count(conn, "comment_sessions") == 0


async def test_comments_otp_mode_lets_any_verified_address_write_as_guest(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "otp")
    page = await client.get(issued.url)
    assert "The billing team sees your address" in page.text
    await grant_access(client, issued, mailbox, email="Colleague@AP.example", name="Bob <b>")
    posted = await post_comment(client, issued, "Forwarded to our controller.")
    [shown] = comments_in(posted.text)
    assert shown["role"] == "Guest, e-mail verified" and shown["author"] == "Bob <b>"
    assert "colleague@ap.example" not in posted.text.lower()
    assert await conn.fetchval("SELECT author_email FROM comments") == "colleague@ap.example"


async def test_comments_closed_thread_is_read_only(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await _issued(conn, "closed")
    page = await client.get(issued.url)
    assert "This thread is read-only" in page.text and form_step(page.text) is None
    asked = await ask_code(client, issued)
    assert asked.status_code == 422 and "read-only" in asked.text
    posted = await post_comment(client, issued, "hello")
    assert posted.status_code == 422 and await _count(conn, "comments") == 0


async def test_comments_code_expires_is_single_use_and_replaced_by_a_new_one(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, clock: MovableClock
) -> None:
    issued = await _issued(conn, "customer")
    verify = f"{issued.url}/comments/verify"
    await ask_code(client, issued)
    first = await mailbox.code_for(CUSTOMER_EMAIL, 1)
    await ask_code(client, issued)
    second = await mailbox.code_for(CUSTOMER_EMAIL, 2)
    if first != second:
        replaced = await client.post(verify, data={"email": CUSTOMER_EMAIL, "code": first}, headers=HX)
        assert replaced.status_code == 422 and form_error(replaced.text).startswith("That code is not right.")

    clock.offset = timedelta(minutes=10, seconds=1)
    expired = await client.post(verify, data={"email": CUSTOMER_EMAIL, "code": second}, headers=HX)
    assert expired.status_code == 422 and form_error(expired.text) == "This code has expired. Ask for a new one."

    clock.offset = timedelta(minutes=9)
    accepted = await client.post(verify, data={"email": CUSTOMER_EMAIL, "code": second}, headers=HX)
    assert accepted.status_code == 200
    again = await client.post(verify, data={"email": CUSTOMER_EMAIL, "code": second}, headers=HX)
    assert again.status_code == 422 and form_error(again.text) == "This code was already used. Ask for a new one."


async def test_comments_five_wrong_tries_burn_the_code(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    await ask_code(client, issued)
    code = await mailbox.code_for(CUSTOMER_EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [
        form_error(
            (
                await client.post(
                    f"{issued.url}/comments/verify", data={"email": CUSTOMER_EMAIL, "code": wrong}, headers=HX
                )
            ).text
        )
        for _ in range(5)
    ]
    assert answers[0].endswith("4 tries left.") and answers[3].endswith("1 try left.")
    assert answers[4] == "Too many wrong tries for this code. Ask for a new one."
    right = await client.post(f"{issued.url}/comments/verify", data={"email": CUSTOMER_EMAIL, "code": code}, headers=HX)
    assert right.status_code == 422 and "Too many wrong tries" in right.text
    # Guessing concurrently cannot slip past the limit either: the code row is locked per guess.
    assert await conn.fetchval("SELECT wrong_tries FROM comment_codes") == 5


async def test_comments_code_requests_are_rate_limited(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "otp")
    statuses = [(await ask_code(client, issued, email="flood@example.com")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [422]
    # Per client: ten requests an hour from one address, whatever the e-mail addresses (refusals do not count).
    more = [(await ask_code(client, issued, email=f"p{i}@example.com")).status_code for i in range(6)]
    assert more == [200] * 5 + [422]
    limited = await ask_code(client, issued, email="fresh@example.com")
    assert "Too many codes were asked for" in limited.text and "fresh@example.com" in limited.text  # input kept
    # Per invoice, from many clients: checked through the service with distinct client addresses.
    other = await _issued(conn, "otp", ws=issued.workspace)
    for i in range(MAX_REQUESTS_PER_INVOICE):
        await request_code(
            conn,
            other.invoice,
            name="N",
            email=f"x{i}@example.com",
            client=f"10.0.0.{i}",
            now=_now(),
            mailer=OUTBOX_ONLY,
            letters=letters(),
            texts=ENGLISH,
        )
    with pytest.raises(AccessError, match="Too many codes"):
        await request_code(
            conn,
            other.invoice,
            name="N",
            email="y@example.com",
            client="10.9.9.9",
            now=_now(),
            mailer=OUTBOX_ONLY,
            letters=letters(),
            texts=ENGLISH,
        )


def _now() -> datetime:
    return datetime.now(UTC)


async def test_comments_session_cookie_is_for_one_invoice_only(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    first = await _issued(conn, "customer")
    second = await factories.invoice(conn, ws=first.workspace)
    verified = await grant_access(client, first, mailbox)
    token = verified.cookies[SESSION_COOKIE]
    forged = await client.post(
        f"{second.url}/comments",
        data={"body": "hi", "client_key": new_key()},
        headers={**HX, "Cookie": f"{SESSION_COOKIE}={token}"},
    )
    assert forged.status_code == 422 and "confirm your e-mail address" in forged.text
    assert await _count(conn, "comments") == 0
    assert (await post_comment(client, first, "on the right invoice")).status_code == 200


async def test_comments_text_is_escaped_and_only_web_links_are_clickable(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settle
) -> None:
    issued = await _issued(conn, "otp")
    await grant_access(client, issued, mailbox, email="eve@example.com", name='<img src=x onerror="alert(1)">')
    nasty = (
        '<script>alert(1)</script> <a href="javascript:alert(2)">x</a> javascript:alert(3) '
        'https://example.com/a?b=1&c=2" onmouseover="alert(4) data:text/html,<b>5</b> http://ok.example/p).'
    )
    posted = await post_comment(client, issued, nasty)
    assert posted.status_code == 200
    await settle()
    page = await client.get(issued.url)
    section = BeautifulSoup(page.text, "html.parser").select_one("#comments")
    assert section.select("script") == [] and section.select("img") == []
    assert [a["href"] for a in section.select(".comment-body a")] == [
        "https://example.com/a?b=1&c=2",
        "http://ok.example/p",
    ]
    assert all(a["rel"] == ["nofollow", "noopener", "noreferrer", "ugc"] for a in section.select(".comment-body a"))
    assert not any(attr.startswith("on") for tag in section.find_all(True) for attr in tag.attrs)
    assert section.select_one(".comment-body").get_text() == nasty
    assert section.select_one(".comment-author").get_text() == '<img src=x onerror="alert(1)">'


async def test_comments_cross_site_posts_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    await grant_access(client, issued, mailbox)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        forged = await post_comment(client, issued, "forged", headers={**HX, **headers})
        assert forged.status_code == 403
        asked = await client.post(f"{issued.url}/comments/code", data={"name": "x", "email": "a@b.co"}, headers=headers)
        assert asked.status_code == 403
    assert await _count(conn, "comments") == 0 and await _count(conn, "comment_code_requests") == 1
    assert (
        await post_comment(client, issued, "mine", headers={**HX, "Sec-Fetch-Site": "same-origin"})
    ).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Please write something before you post."),
        ("   \n\t ", "Please write something before you post."),
        ("\x00\x01\x02", "Please write something before you post."),
        ("x" * 5001, "A comment can be at most 5,000 characters; this one has 5,001."),
        ("€" * 5001, "A comment can be at most 5,000 characters; this one has 5,001."),
    ],
)
async def test_comments_bad_text_is_refused_and_kept(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, body: str, message: str
) -> None:
    issued = await _issued(conn, "customer")
    await grant_access(client, issued, mailbox)
    refused = await post_comment(client, issued, body)
    assert refused.status_code == 422 and form_error(refused.text) == message
    kept = BeautifulSoup(refused.text, "html.parser").select_one("#comment-body").get_text()
    # NUL is dropped when the form is read (PostgreSQL text cannot hold it); the rest comes back as typed.
    assert kept == body.replace("\x00", "") or kept.strip() == body.strip() or len(kept) >= 5000
    assert await _count(conn, "comments") == 0


async def test_comments_nasty_requests_get_clear_answers(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    not_an_address = "does not look like an e-mail"
    for email, message in [("", "Please give your e-mail address"), ("no-at-sign", not_an_address),
                           ("a@b", not_an_address), ("ü@exämple.de", not_an_address)]:  # fmt: skip
        answer = await ask_code(client, issued, email=email)
        assert answer.status_code == 422 and message in form_error(answer.text)
    nameless = await ask_code(client, issued, name="  \u200b ")
    assert nameless.status_code == 422 and "give your name" in form_error(nameless.text)
    huge = await client.post(f"{issued.url}/comments", content=b"body=" + b"x" * 70_000,
                             headers={**HX, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert huge.status_code == 413
    await grant_access(client, issued, mailbox)
    stale = await client.post(f"{issued.url}/comments", data={"body": "hi", "client_key": "<bad>"}, headers=HX)
    assert stale.status_code == 422 and "reload the page" in form_error(stale.text)
    for after in ("abc", "-1", "1e3", "١٢", "9" * 40):
        assert (await client.get(f"{issued.url}/comments?after={after}", headers=HX)).status_code == 400
    assert (await client.get(f"{issued.url}/comments", follow_redirects=False)).status_code == 303
    assert (await client.get("/i/" + "x" * 32 + "/comments", headers=HX)).status_code == 404
    assert await _count(conn, "comments") == 0


async def test_comments_double_submit_writes_one_comment(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    await grant_access(client, issued, mailbox)
    key = new_key()
    answers = await asyncio.gather(*(post_comment(client, issued, "once", key) for _ in range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert await _count(conn, "comments") == 1
    assert await conn.fetchval("SELECT count(*) FROM activity WHERE kind = 'commented'") == 1


async def test_comments_posting_is_rate_limited(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    await grant_access(client, issued, mailbox)
    statuses = [(await post_comment(client, issued, f"message {i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [422]
    assert await _count(conn, "comments") == 5


async def test_comments_forget_me_ends_the_session(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    verified = await grant_access(client, issued, mailbox)
    token = verified.cookies[SESSION_COOKIE]
    forgot = await client.post(f"{issued.url}/comments/forget", headers=HX)
    assert forgot.status_code == 200 and form_step(forgot.text) == "email"
    assert 'comment_session=""' in forgot.headers["set-cookie"] and "Max-Age=0" in forgot.headers["set-cookie"]
    replayed = await client.post(
        f"{issued.url}/comments",
        data={"body": "x", "client_key": new_key()},
        headers={**HX, "Cookie": f"{SESSION_COOKIE}={token}"},
    )
    assert replayed.status_code == 422 and await _count(conn, "comments") == 0


async def test_comments_tail_returns_only_newer_comments(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settle
) -> None:
    issued = await _issued(conn, "customer")
    await grant_access(client, issued, mailbox)
    for text in ("one", "two"):
        await post_comment(client, issued, text)
    await settle()
    ids = [int(i) for i in await conn.fetch("SELECT id FROM comments ORDER BY id") for i in [i["id"]]]
    everything = await client.get(f"{issued.url}/comments?after=0", headers=HX)
    soup = BeautifulSoup(everything.text, "html.parser")
    assert [c["body"] for c in comments_in(everything.text)] == ["one", "two"]
    assert soup.select_one("#comments-tail")["hx-get"].endswith(f"after={ids[1]}")
    newer = await client.get(f"{issued.url}/comments?after={ids[0]}", headers=HX)
    assert [c["body"] for c in comments_in(newer.text)] == ["two"]
    nothing = await client.get(f"{issued.url}/comments?after={ids[1]}", headers=HX)
    assert nothing.status_code == 204 and nothing.text == ""


async def test_comments_work_without_javascript(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await _issued(conn, "customer")
    asked = await client.post(
        f"{issued.url}/comments/code", data={"name": "Claire", "email": CUSTOMER_EMAIL, "body": "No JS here"}
    )
    soup = BeautifulSoup(asked.text, "html.parser")
    assert asked.status_code == 200 and soup.select_one("h1") is not None and form_step(asked.text) == "code"
    code = await mailbox.code_for(CUSTOMER_EMAIL)
    verified = await client.post(f"{issued.url}/comments/verify", data={"email": CUSTOMER_EMAIL, "code": code})
    assert verified.status_code == 200 and form_step(verified.text) == "compose"
    key = BeautifulSoup(verified.text, "html.parser").select_one("input[name=client_key]")["value"]
    empty = await client.post(f"{issued.url}/comments", data={"body": " ", "client_key": key})
    assert empty.status_code == 422 and BeautifulSoup(empty.text, "html.parser").select_one("h1") is not None
    posted = await client.post(f"{issued.url}/comments", data={"body": "No JS here", "client_key": key})
    comment_id = await conn.fetchval("SELECT id FROM comments")
    assert posted.status_code == 303 and posted.headers["location"] == f"{issued.url}#comment-{comment_id}"


async def test_bidirectional_overrides_are_taken_out_of_a_comment(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    await grant_access(client, issued, mailbox)
    # "Pay to IBAN …" that a reader would see reversed; the direction marks of real right-to-left text stay.
    posted = await post_comment(client, issued, "Pay \u202eNABI\u202c now \u2067x\u2069 \u200fשלום\u200e")
    assert posted.status_code == 200
    stored = await conn.fetchval("SELECT body FROM comments WHERE invoice_id = $1", issued.invoice.id)
    assert stored == "Pay NABI now x \u200fשלום\u200e"
