"""The support inbox: open threads newest first, replies that reach the customer's page and mailbox, the handled
mark, writers' TOTP resets, both roles, workspace scoping, and the workspace-scoped event stream."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pyotp
from bs4 import BeautifulSoup, Tag

from db.activity import select_activity
from db.comment_access import select_or_start_enrolment
from db.comments import Comment, insert_comment
from db.workspaces import Workspace
from tests import factories
from tests.browser import live_server
from tests.conftest import MovableClock
from tests.console import account, errors_of, sign_in
from tests.factories import Issued
from tests.live import open_stream
from tests.mailbox import Mailbox
from tests.queries import select_invoice
from tests.threads import CUSTOMER_EMAIL, HX, comments_in, grant_access, new_key, post_comment
from web.app import create_app
from web.pdf import PdfRenderer
from web.settings import Settings

GUEST = "controller@customer.example"


async def writes(
    conn: asyncpg.Connection, issued: Issued, body: str, *, role: str = "customer", email: str = CUSTOMER_EMAIL
) -> Comment:
    name = {"customer": "Claire", "guest": "Gina", "staff": "Sam"}[role]
    comment, _ = await insert_comment(
        conn, invoice_id=issued.invoice.id, author_role=role, author_name=name,
        author_email="" if role == "staff" else email, body=body, client_key=new_key(),
    )  # fmt: skip
    return comment


async def signed_in(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, ws: Workspace, role: str = "billing"
) -> str:
    staff = await account(conn, ws, role=role)
    return await sign_in(client, conn, clock, staff.email)


def inbox_rows(html: str) -> list[dict[str, str]]:
    rows = []
    for link in BeautifulSoup(html, "html.parser").select("#inbox-list a.inbox-item"):
        texts = {key: link.select_one(f".{key}").get_text(" ", strip=True) for key in ("unanswered", "excerpt")}
        rows.append({"href": str(link["href"]), **texts})
    return rows


def thread_of(html: str) -> list[dict[str, str]]:
    """The console's comments, with the writer's address that only staff see."""
    keys = ("author", "role", "email", "body", "waiting")
    items = BeautifulSoup(html, "html.parser").select("#thread-comments li.comment")
    return [
        {key: node.get_text(strip=True) if (node := item.select_one(f".comment-{key}")) else "" for key in keys}
        for item in items
    ]


def one(html: str, selector: str) -> Tag:
    found = BeautifulSoup(html, "html.parser").select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return found


def reply_key(html: str) -> str:
    return str(one(html, "#reply-form input[name=client_key]")["value"])


async def test_inbox_lists_unanswered_threads_newest_first_and_hides_answered_and_handled(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    a, b, c, d = [await factories.invoice(conn, ws=ws, buyer_name=f"Buyer {x}") for x in "abcd"]
    elsewhere = await factories.invoice(conn, ws=await factories.workspace(conn, slug="other"))
    csrf = await signed_in(client, conn, clock, ws, role="support")  # the inbox is support's as much as billing's
    empty = await client.get("/console/inbox")
    assert empty.status_code == 200 and inbox_rows(empty.text) == []
    assert "Nothing waiting" in empty.text

    await writes(conn, c, "First question about c")
    await writes(conn, a, "Where is the PO number?")
    await writes(conn, b, "Can we pay in two parts?")
    await writes(conn, b, "Yes, two parts are fine.", role="staff")
    await writes(conn, c, "Second question\n\n about   c", role="guest", email=GUEST)
    await writes(conn, d, "Thanks, all clear!")
    await writes(conn, elsewhere, "Another workspace's question")
    listed = inbox_rows((await client.get("/console/inbox")).text)
    assert [row["href"] for row in listed] == [f"/console/threads/{i.invoice.id}" for i in (d, c, a)]
    assert listed[1]["unanswered"] == "2 unanswered"
    assert listed[1]["excerpt"] == "Gina (guest): Second question about c"

    handled = await client.post(f"/console/threads/{d.invoice.id}/handled", data={"csrf": csrf}, headers=HX)
    assert handled.status_code == 200 and "Marked as handled" in handled.text
    assert one(handled.text, "#thread-state-title").get_text(strip=True) == "Handled"
    fragment = await client.get("/console/inbox/list", headers=HX)
    assert BeautifulSoup(fragment.text, "html.parser").find().get("id") == "inbox-list"
    assert [row["href"] for row in inbox_rows(fragment.text)] == [f"/console/threads/{i.invoice.id}" for i in (c, a)]

    # Written after the mark: the thread is back, on top, counting only what came after.
    await writes(conn, d, "One more thing: the VAT id changed.")
    listed = inbox_rows((await client.get("/console/inbox/list", headers=HX)).text)
    assert [row["href"] for row in listed] == [f"/console/threads/{i.invoice.id}" for i in (d, c, a)]
    assert listed[0]["unanswered"] == "1 unanswered" and "VAT id changed" in listed[0]["excerpt"]


async def test_inbox_reply_reaches_the_customers_page_and_mailbox_and_closes_the_thread(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, mailbox: Mailbox, settle
) -> None:
    issued = await factories.invoice(conn)
    await grant_access(client, issued, mailbox)
    assert (await post_comment(client, issued, "Which PO number should we use?")).status_code == 200
    csrf = await signed_in(client, conn, clock, issued.workspace)
    thread = await client.get(f"/console/threads/{issued.invoice.id}")
    assert thread.status_code == 200
    assert thread_of(thread.text) == [
        {"author": "Claire", "role": "Customer", "email": f"{CUSTOMER_EMAIL} (verified)",
         "body": "Which PO number should we use?", "waiting": "Unanswered"},
    ]  # fmt: skip
    soup = BeautifulSoup(thread.text, "html.parser")
    assert soup.select_one("#thread-state-title").get_text(" ", strip=True) == "Waiting for an answer: 1 comment"
    hrefs = {a["href"] for a in soup.select("a")}
    assert {f"/console/invoices/{issued.invoice.id}", f"/console/invoices/{issued.invoice.id}/preview"} <= hrefs
    assert [f["value"] for f in soup.select("form[action$='/totp-reset'] input[name=email]")] == [CUSTOMER_EMAIL]
    assert soup.select_one("[data-stream]")["data-stream"] == f"/console/inbox/stream?thread={issued.invoice.id}"

    key = reply_key(thread.text)
    answer = await client.post(
        f"/console/threads/{issued.invoice.id}/reply", data={"body": "PO-4711, thanks!", "client_key": key},
        headers={**HX, "X-CSRF-Token": csrf},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert reply_key(answer.text) != key and one(answer.text, "#reply-body").text == ""
    live = one(answer.text, "#thread-live")
    assert live["hx-swap-oob"] == "true"
    assert live.select_one("#thread-state-title").get_text(strip=True) == "Answered"
    assert [(c["author"], c["role"], c["waiting"]) for c in thread_of(answer.text)] == [
        ("Claire", "Customer", ""), ("Billing Person", "Billing team", "")
    ]  # fmt: skip

    reply_mail = (await mailbox.wait_for(CUSTOMER_EMAIL, 2))[-1]
    text = reply_mail.get_payload(decode=True).decode()
    assert reply_mail["Subject"] == f"Reply about invoice {issued.invoice.number}"
    assert "PO-4711, thanks!" in text and f"{issued.url}#comments" in text
    await settle()
    page = await client.get(issued.url)
    assert [(c["author"], c["role"], c["body"]) for c in comments_in(page.text)][-1] == (
        "Billing Person", "Billing team", "PO-4711, thanks!"
    )  # fmt: skip
    newest = await conn.fetchval("SELECT max(id) FROM comments WHERE invoice_id = $1", issued.invoice.id)
    assert (await select_invoice(conn, issued.invoice.id)).thread_handled_through == newest  # type: ignore[union-attr]
    assert inbox_rows((await client.get("/console/inbox")).text) == []


async def test_inbox_reply_validation_keeps_the_text_and_a_double_submit_posts_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    await writes(conn, issued, "Hello?")
    csrf = await signed_in(client, conn, clock, issued.workspace, role="support")
    url = f"/console/threads/{issued.invoice.id}/reply"
    key = reply_key((await client.get(f"/console/threads/{issued.invoice.id}")).text)

    empty = await client.post(url, data={"csrf": csrf, "body": "  \n ", "client_key": key}, headers=HX)
    assert empty.status_code == 422 and errors_of(empty.text) == ["Please write something before you post."]
    assert reply_key(empty.text) == key
    long_text = "Dear customer, " + "x" * 5000
    too_long = await client.post(url, data={"csrf": csrf, "body": long_text, "client_key": key})
    assert too_long.status_code == 422
    assert "at most 5,000 characters" in errors_of(too_long.text)[0]
    kept = one(too_long.text, "#reply-body")
    assert kept.text == long_text and kept["aria-invalid"] == "true"
    assert one(too_long.text, "h1").get_text(strip=True).startswith("Thread on invoice")  # the page, without htmx
    stale = await client.post(url, data={"csrf": csrf, "body": "Kept", "client_key": "bad"}, headers=HX)
    assert stale.status_code == 422 and reply_key(stale.text) != "bad" and "Kept" in stale.text

    first = await client.post(url, data={"csrf": csrf, "body": "Here you go.", "client_key": key})
    again = await client.post(url, data={"csrf": csrf, "body": "Here you go.", "client_key": key})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"].startswith(f"/console/threads/{issued.invoice.id}?done=reply#comment-")
    replies = await conn.fetchval("SELECT array_agg(body) FROM comments WHERE author_role = 'staff'")
    assert replies == ["Here you go."]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE kind = 'comment_reply'") == 1
    shown = await client.get(first.headers["location"])
    assert "Your reply is posted" in shown.text


async def test_inbox_totp_reset_deletes_the_enrolment_and_refuses_a_stranger(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    await writes(conn, issued, "Please call me.", role="guest", email=GUEST)
    stranger = "someone@else.example"
    for email in (GUEST, stranger):
        await select_or_start_enrolment(conn, issued.workspace.id, email, pyotp.random_base32())
    csrf = await signed_in(client, conn, clock, issued.workspace, role="support")
    url = f"/console/threads/{issued.invoice.id}/totp-reset"

    refused = await client.post(url, data={"csrf": csrf, "email": stranger}, headers=HX)
    assert refused.status_code == 422
    assert errors_of(refused.text) == [
        "Only the authenticator app of someone who wrote in this thread can be reset here."
    ]
    enrolled = "SELECT email FROM totp_enrolments WHERE workspace_id = $1 ORDER BY email"
    assert [r["email"] for r in await conn.fetch(enrolled, issued.workspace.id)] == [GUEST, stranger]

    done = await client.post(url, data={"csrf": csrf, "email": " Controller@Customer.example "}, headers=HX)
    assert done.status_code == 200
    assert f"{GUEST}: The authenticator app was reset" in done.text
    assert [r["email"] for r in await conn.fetch(enrolled, issued.workspace.id)] == [stranger]
    [reset] = [a for a in await select_activity(conn, issued.invoice.id) if a.kind == "totp_reset"]
    assert reset.detail == {"email": GUEST, "by": f"support@{issued.workspace.slug}.example"}

    nothing = await client.post(url, data={"csrf": csrf, "email": GUEST})
    assert nothing.status_code == 303 and nothing.headers["location"].endswith("?done=totp-none")
    assert "nothing to reset" in (await client.get(nothing.headers["location"])).text
    assert len([a for a in await select_activity(conn, issued.invoice.id) if a.kind == "totp_reset"]) == 1


async def test_inbox_another_workspace_and_drafts_get_404(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    await writes(conn, issued, "Private question", role="guest", email=GUEST)
    enrolment = await select_or_start_enrolment(conn, issued.workspace.id, GUEST, pyotp.random_base32())
    draft = await factories.invoice(conn, ws=issued.workspace, issue=False)
    intruder = await factories.workspace(conn, slug="intruder")
    csrf = await signed_in(client, conn, clock, intruder)
    base = f"/console/threads/{issued.invoice.id}"
    assert (await client.get(base)).status_code == 404
    assert (await client.get(f"{base}/comments", headers=HX)).status_code == 404
    posts = {"reply": {"body": "Hi", "client_key": new_key()}, "handled": {}, "totp-reset": {"email": GUEST}}
    for action, data in posts.items():
        assert (await client.post(f"{base}/{action}", data={"csrf": csrf, **data})).status_code == 404, action
    assert inbox_rows((await client.get("/console/inbox")).text) == []
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE author_role = 'staff'") == 0
    assert (await select_invoice(conn, issued.invoice.id)).thread_handled_through == 0  # type: ignore[union-attr]
    assert await conn.fetchval("SELECT secret FROM totp_enrolments WHERE email = $1", GUEST) == enrolment.secret

    await client.post("/console/sign-out", data={"csrf": csrf})
    own = await signed_in(client, conn, clock, issued.workspace)
    assert (await client.get(f"/console/threads/{draft.invoice.id}")).status_code == 404
    reply = {"csrf": own, "body": "Hi", "client_key": new_key()}
    assert (await client.post(f"/console/threads/{draft.invoice.id}/reply", data=reply)).status_code == 404


async def test_inbox_stream_rings_for_its_own_workspace_only(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ours = await factories.invoice(conn)
    second = await factories.invoice(conn, ws=ours.workspace)
    theirs = await factories.invoice(conn, ws=await factories.workspace(conn, slug="theirs"))
    async with (
        live_server(create_app(settings, pdf_renderer=pdf_renderer, clock=clock)) as origin,
        httpx.AsyncClient(base_url=origin, timeout=None) as client,
    ):
        csrf = await signed_in(client, conn, clock, ours.workspace, role="support")
        page = await client.get(f"/console/threads/{ours.invoice.id}")
        assert "htmx-ext-sse" in page.text and "js/stream.js" in page.text

        async def open_streams() -> int:
            return (await client.get("/healthz")).json()["streams"]

        async with open_stream(client, f"/console/inbox/stream?thread={ours.invoice.id}") as stream:
            assert await open_streams() == 1
            # Another workspace's comments come first: had they leaked, they would be the next events read.
            await writes(conn, theirs, "Not for you")
            await writes(conn, ours, "For you")
            assert await stream.next_event(within=5) == ("inbox", str(ours.invoice.id))
            assert await stream.next_event(within=5) == ("thread", str(ours.invoice.id))
            await writes(conn, theirs, "Known to be theirs by now")
            await writes(conn, second, "A different thread of ours")
            assert await stream.next_event(within=5) == ("inbox", str(second.invoice.id))
            # A teammate's "handled" mark changes the list and the thread for everyone watching.
            handled = await client.post(f"/console/threads/{ours.invoice.id}/handled", data={"csrf": csrf})
            assert handled.status_code == 303 and handled.headers["location"].endswith("?done=handled")
            assert await stream.next_event(within=5) == ("inbox", str(ours.invoice.id))
            assert await stream.next_event(within=5) == ("thread", str(ours.invoice.id))
        for _ in range(100):  # the server notices the disconnect within tens of milliseconds
            if (count := await open_streams()) == 0:
                break
            await asyncio.sleep(0.02)
        assert count == 0
        async with httpx.AsyncClient(base_url=origin) as stranger:
            refused = await stranger.get("/console/inbox/stream")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/console/sign-in")
