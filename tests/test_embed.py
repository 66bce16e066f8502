"""The billing history embedded in a host app (issue 17): the console's secret (shown once, rotated with a grace
period) and allowed origins; the HMAC (good, bare, by Stripe customer id, wrong, other customer, other workspace,
expired, rotated); the token the frame sends instead of a cookie; frame-ancestors per workspace; and the server
code the console hands out, run for real (Python here, Node when present)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from bs4 import BeautifulSoup

from db.workspaces import Workspace
from tests import factories
from tests.conftest import asgi_client
from tests.console import account as staff_account
from tests.console import sign_in as console_sign_in
from web.embed.snippets import server_snippets

CUSTOMER = "ap@customer.example"


class Host:
    """A workspace that embeds its billing history: its console (billing) and its current secret."""

    def __init__(self, ws: Workspace, console: httpx.AsyncClient, csrf: str) -> None:
        self.ws, self.console, self.csrf, self.secret = ws, console, csrf, ""

    async def rotate(self) -> httpx.Response:
        answer = await self.console.post("/console/settings/embed/secret", data={"csrf": self.csrf})
        found = re.search(r"\b(es_[A-Za-z0-9_-]{20,})\b", answer.text)
        assert answer.status_code == 200 and found is not None
        self.secret = found.group(1)
        return answer

    async def allow(self, origins: str) -> httpx.Response:
        return await self.console.post("/console/settings/embed/origins", data={"csrf": self.csrf, "origins": origins})


@pytest.fixture
async def hosts(app_manager: LifespanManager, conn: asyncpg.Connection, clock: Any) -> AsyncIterator[list[Host]]:
    made = []
    for slug in ("north", "south"):
        ws = await factories.workspace(conn, slug=slug)
        staff = await staff_account(conn, ws)
        console = asgi_client(app_manager)
        made.append(Host(ws, console, await console_sign_in(console, conn, clock, staff.email)))
    yield made
    for host in made:
        await host.console.aclose()


def signed(secret: str, identity: str, expires: str = "") -> str:
    message = identity if not expires else f"{identity}|{expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


async def session(client: httpx.AsyncClient, slug: str, **identity: str) -> httpx.Response:
    return await client.post(f"/embed/{slug}/session", json=identity)


def soon() -> str:
    return str(int(time.time()) + 600)


async def test_the_secret_is_shown_once_and_origins_are_checked(hosts: list[Host]) -> None:
    north, _ = hosts
    made = await north.rotate()
    assert "not shown again" in made.text
    later = await north.console.get("/console/settings/embed")
    assert later.status_code == 200 and north.secret not in later.text and f"…{north.secret[-4:]}" in later.text
    refused = await north.allow("https://app.example.com\nhttp://evil.example\n")
    assert refused.status_code == 422 and "use https" in refused.text
    assert (
        "https://app.example.com\nhttp://evil.example"
        in BeautifulSoup(refused.text, "html.parser").find("textarea").text
    )  # type: ignore[union-attr]
    saved = await north.allow("https://App.Example.com/\nhttp://localhost:5173")
    assert saved.status_code == 303
    shown = BeautifulSoup((await north.console.get("/console/settings/embed")).text, "html.parser")
    assert shown.find("textarea").text == "https://app.example.com\nhttp://localhost:5173"  # type: ignore[union-attr]
    # The snippets name this workspace and this portal.
    code = BeautifulSoup(later.text, "html.parser").get_text()
    assert 'workspace: "north"' in code and "/static/js/embed.js" in code


async def test_the_hmac_opens_exactly_that_customers_history_and_nothing_else(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection, clock: Any
) -> None:
    north, south = hosts
    await north.rotate()
    await south.rotate()
    mine = await factories.invoice(conn, ws=north.ws)
    other = await factories.invoice(conn, ws=north.ws)
    await conn.execute("UPDATE customers SET email = 'b@other.example' WHERE id = $1", other.invoice.customer_id)
    await factories.invoice(conn, ws=south.ws)  # the same address in another workspace
    await conn.execute("UPDATE customers SET stripe_customer_id = 'cus_Mine' WHERE id = $1", mine.invoice.customer_id)

    expires = soon()
    good = await session(client, "north", email=CUSTOMER, expires=expires, hash=signed(north.secret, CUSTOMER, expires))
    assert good.status_code == 200 and good.json()["expires_in"] == 3600
    token = good.json()["token"]
    listed = await client.get("/embed/north/history", headers={"X-Embed-Token": token})
    numbers = [
        str(li["data-invoice-number"])
        for li in BeautifulSoup(listed.text, "html.parser").select("[data-invoice-number]")
    ]
    assert listed.status_code == 200 and numbers == [mine.invoice.number]
    assert "set-cookie" not in good.headers and "set-cookie" not in listed.headers

    for identity in (
        {"email": CUSTOMER, "hash": signed(north.secret, CUSTOMER)},  # a bare hash (never expires)
        {"customer": "cus_Mine", "expires": expires, "hash": signed(north.secret, "cus_Mine", expires)},
    ):
        assert (await session(client, "north", **identity)).status_code == 200, identity
    past = str(int(time.time()) - 1)
    refused = [
        {"email": CUSTOMER, "expires": expires, "hash": "0" * 64},  # wrong
        # another customer's address with this one's hash
        {"email": "b@other.example", "expires": expires, "hash": signed(north.secret, CUSTOMER, expires)},
        # another workspace's secret
        {"email": CUSTOMER, "expires": expires, "hash": signed(south.secret, CUSTOMER, expires)},
        {"email": CUSTOMER, "expires": past, "hash": signed(north.secret, CUSTOMER, past)},  # expired
        {"customer": "cus_Nobody", "expires": expires, "hash": signed(north.secret, "cus_Nobody", expires)},
        {"email": CUSTOMER, "customer": "cus_Mine", "hash": signed(north.secret, CUSTOMER)},  # both: ambiguous
    ]
    answers = [await session(client, "north", **identity) for identity in refused]
    assert {(answer.status_code, answer.text) for answer in answers} == {(403, '{"error":"not_authorised"}')}
    assert (await session(client, "nowhere", email=CUSTOMER, hash="x")).status_code == 404
    # A token opens its own workspace only, and none opens nothing.
    assert (await client.get("/embed/south/history", headers={"X-Embed-Token": token})).status_code == 401
    assert (await client.get("/embed/north/history")).status_code == 401
    assert (
        await client.get(f"/embed/north/invoices/{other.invoice.id}/open", headers={"X-Embed-Token": token})
    ).status_code == 404
    opened = await client.get(f"/embed/north/invoices/{mine.invoice.id}/open", headers={"X-Embed-Token": token})
    assert opened.status_code == 204 and opened.headers["HX-Redirect"].startswith(f"{mine.url}?embed=north&locale=en#")


async def test_a_rotated_secret_works_for_its_grace_period_only(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection, clock: Any
) -> None:
    north, _ = hosts
    await factories.invoice(conn, ws=north.ws)
    await north.rotate()
    old = north.secret
    await north.rotate()
    assert old != north.secret
    for secret in (old, north.secret):
        assert (await session(client, "north", email=CUSTOMER, hash=signed(secret, CUSTOMER))).status_code == 200
    clock.offset += timedelta(hours=25)
    assert (await session(client, "north", email=CUSTOMER, hash=signed(old, CUSTOMER))).status_code == 403
    assert (await session(client, "north", email=CUSTOMER, hash=signed(north.secret, CUSTOMER))).status_code == 200


async def test_only_the_workspaces_origins_may_frame_it(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    north, _ = hosts
    assert (await north.allow("https://app.north.example")).status_code == 303
    issued = await factories.invoice(conn, ws=north.ws)

    def ancestors(response: httpx.Response) -> str:
        policies = response.headers.get_list("content-security-policy")
        assert len(policies) == 1, policies  # one policy: the middleware adds none beside the page's own
        found = re.search(r"frame-ancestors ([^;]+)", policies[0])
        assert found is not None
        return found.group(1)

    assert ancestors(await client.get("/embed/north")) == "https://app.north.example"
    assert ancestors(await client.get("/embed/south")) == "'none'"  # nothing allowed yet
    assert ancestors(await client.get(issued.url)) == "'self'"
    embedded = await client.get(f"{issued.url}?embed=north")
    assert ancestors(embedded) == "https://app.north.example" and 'href="/embed/north?locale=en"' in embedded.text
    assert ancestors(await client.get(f"{issued.url}?embed=south")) == "'self'"  # not its workspace
    assert ancestors(await client.get(issued.url)) == "'self'"  # the embedded variant is cached apart


async def test_the_server_code_handed_out_computes_a_hash_the_portal_accepts(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    north, _ = hosts
    await factories.invoice(conn, ws=north.ws)
    await north.rotate()
    snippets = server_snippets()
    python: dict[str, Any] = {"email": CUSTOMER}
    os.environ["EMBED_SECRET"] = north.secret
    try:
        exec(snippets["Python"], python)
        assert (
            await session(client, "north", email=CUSTOMER, expires=python["expires"], hash=python["hash"])
        ).status_code == 200
        node = shutil.which("node")
        if node is not None:  # present wherever `make test` ran (it installs axe-core with npm)
            script = f"const email = {CUSTOMER!r};\n{snippets['Node']}\nconsole.log(expires + ' ' + hash);"
            run = [node, "-e", script]
            out = await asyncio.to_thread(
                subprocess.run, run, capture_output=True, text=True, check=True, env=os.environ
            )
            expires, hash_ = out.stdout.split()
            assert (await session(client, "north", email=CUSTOMER, expires=expires, hash=hash_)).status_code == 200
    finally:
        del os.environ["EMBED_SECRET"]


async def test_hostile_session_requests_get_403_never_500(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    north, _ = hosts
    await factories.invoice(conn, ws=north.ws)
    await north.rotate()
    bodies: list[Any] = [
        {"email": CUSTOMER, "hash": "é" * 64},  # not hex (compare_digest refuses non-ASCII)
        {"email": CUSTOMER, "hash": signed(north.secret, CUSTOMER)[:63]},
        {"email": CUSTOMER, "expires": "²³", "hash": signed(north.secret, CUSTOMER, "²³")},  # digits, not ASCII
        # "|" in the identity: a bare hash made for "address|expiry" is not that address's
        {"email": f"{CUSTOMER}|99999999999", "hash": signed(north.secret, f"{CUSTOMER}|99999999999")},
        {"email": 5, "hash": None},
        ["not", "an", "object"],
    ]
    for body in bodies:
        answer = await client.post("/embed/north/session", json=body)
        assert answer.status_code == 403, (body, answer.text)
    nested = await client.post(
        "/embed/north/session", content=b"[" * 4000, headers={"Content-Type": "application/json"}
    )
    assert nested.status_code == 403


async def test_origins_are_written_the_way_browsers_send_them(hosts: list[Host]) -> None:
    north, _ = hosts
    assert (
        await north.allow("https://App.Example.com:443/\nhttps://пример.example\nhttp://localhost:5173")
    ).status_code == 303
    shown = BeautifulSoup((await north.console.get("/console/settings/embed")).text, "html.parser")
    assert shown.find("textarea").text == (  # type: ignore[union-attr]
        "https://app.example.com\nhttps://xn--e1afmkfd.example\nhttp://localhost:5173"
    )
    for bad in ("http://localhost.evil.example", "http://[::1]:8001", "https://a_b.example", "https://x.example/path"):
        assert (await north.allow(bad)).status_code == 422, bad


async def test_inside_the_frame_the_vouched_customer_writes_without_a_code(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """The host vouched for the address: opening an invoice from the list hands the page a writer token (in the
    URL's fragment) that it sends in a header; no cookie, no code. A thread that is closed, or an address that may
    not write there, gets none; a made-up token writes nothing."""
    north, _ = hosts
    await north.rotate()
    await north.allow("https://app.north.example")
    mine = await factories.invoice(conn, ws=north.ws, buyer_name="Customer SARL")
    closed = await factories.invoice(conn, ws=north.ws)
    await conn.execute("UPDATE invoices SET comment_mode = 'closed' WHERE id = $1", closed.invoice.id)
    token = (await session(client, "north", email=CUSTOMER, hash=signed(north.secret, CUSTOMER))).json()["token"]

    async def open_page(issued: factories.Issued) -> str:
        opened = await client.get(
            f"/embed/north/invoices/{issued.invoice.id}/open", headers={"X-Embed-Token": token, "X-Portal-Locale": "de"}
        )
        assert opened.status_code == 204 and "set-cookie" not in opened.headers
        return str(opened.headers["HX-Redirect"])

    page = await open_page(mine)
    address, _, fragment = page.partition("#writer=")
    assert address == f"{mine.url}?embed=north&locale=de" and fragment
    assert "#" not in await open_page(closed)  # a read-only thread: nothing to write with

    fragment_headers = {"HX-Request": "true", "HX-Target": "comment-form", "X-Portal-Locale": "de"}
    anonymous = await client.get(f"{mine.url}/comments/form", headers=fragment_headers)
    assert anonymous.status_code == 200 and 'data-step="email"' in anonymous.text
    writer = {**fragment_headers, "X-Comment-Session": fragment}
    form = await client.get(f"{mine.url}/comments/form", headers=writer)
    assert 'data-step="compose"' in form.text and "Customer SARL" in form.text
    assert "Ihr Kommentar" in form.text  # the host's language, carried by the frame's header
    key = BeautifulSoup(form.text, "html.parser").find("input", {"name": "client_key"})["value"]  # type: ignore[index]
    refused = await client.post(
        f"{mine.url}/comments", data={"body": "Hello", "client_key": key}, headers={**writer, "X-Comment-Session": "x"}
    )
    assert refused.status_code == 422
    posted = await client.post(f"{mine.url}/comments", data={"body": "Is the PO number right?", "client_key": key},
                               headers=writer)  # fmt: skip
    assert posted.status_code == 200
    stored = await conn.fetchrow(
        "SELECT author_name, author_role, body FROM comments WHERE invoice_id = $1", mine.invoice.id
    )
    assert tuple(stored) == ("Customer SARL", "customer", "Is the PO number right?")  # type: ignore[arg-type]
    assert (await conn.fetchval("SELECT count(*) FROM comments")) == 1


async def test_the_embedded_page_keeps_the_embed_in_its_links_and_its_pdf_may_be_framed(
    hosts: list[Host], client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    north, _ = hosts
    await north.allow("https://app.north.example")
    issued = await factories.invoice(conn, ws=north.ws)
    preview = await client.get(
        f"{issued.url}?view=pdf&embed=north&locale=fr", headers={"HX-Request": "true", "HX-Target": "preview"}
    )
    soup = BeautifulSoup(preview.text, "html.parser")
    assert soup.find("object")["data"] == f"{issued.url}/pdf?embed=north"  # type: ignore[index]
    assert soup.find(id="mode-document")["href"] == f"{issued.url}?view=document&embed=north&locale=fr"  # type: ignore[index]
    assert "Aperçu PDF" in preview.text
    framed = await client.get(f"{issued.url}/pdf?embed=north")
    assert framed.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self' https://app.north.example;" in framed.headers["content-security-policy"]
    plain = await client.get(f"{issued.url}/pdf")
    assert "frame-ancestors 'self';" in plain.headers["content-security-policy"]
    # The language picker keeps the embed: a GET form (no cookie can be kept in the frame).
    page = BeautifulSoup((await client.get(f"{issued.url}?embed=north&locale=fr")).text, "html.parser")
    picker = page.find("form", class_="language-picker")
    assert picker["method"] == "get" and picker.find("input", {"name": "embed"})["value"] == "north"  # type: ignore[index]
    assert page.find("html")["lang"] == "fr"  # type: ignore[index]
