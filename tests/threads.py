"""Test helpers for comment threads: the real code flow (grant_access), posting, parsing the thread."""

from __future__ import annotations

import secrets

import asyncpg
import httpx
from bs4 import BeautifulSoup

from tests.factories import Issued
from tests.mailbox import Mailbox
from tests.words import letters
from web.comments.posting import Posted, post_staff_reply

HX = {"HX-Request": "true"}
CUSTOMER_EMAIL = "ap@customer.example"


async def ask_code(
    client: httpx.AsyncClient, issued: Issued, *, email: str = CUSTOMER_EMAIL, name: str = "Claire", body: str = ""
) -> httpx.Response:
    return await client.post(
        f"{issued.url}/comments/code", data={"name": name, "email": email, "body": body}, headers=HX
    )


async def grant_access(
    client: httpx.AsyncClient, issued: Issued, mailbox: Mailbox, *, email: str = CUSTOMER_EMAIL, name: str = "Claire"
) -> httpx.Response:
    """Run the real flow: ask for a code, read it from the SMTP server, give it back. Returns the verify answer."""
    already = len(mailbox.to(email))
    asked = await ask_code(client, issued, email=email, name=name)
    assert asked.status_code == 200, asked.text
    code = await mailbox.code_for(email, already + 1)
    verified = await client.post(f"{issued.url}/comments/verify", data={"email": email, "code": code}, headers=HX)
    assert verified.status_code == 200, verified.text
    return verified


def new_key() -> str:
    return secrets.token_urlsafe(18)


async def post_comment(
    client: httpx.AsyncClient, issued: Issued, body: str, key: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        f"{issued.url}/comments", data={"body": body, "client_key": key or new_key()}, headers=headers or HX
    )


def comments_in(html: str) -> list[dict[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    return [
        {
            "id": item["id"],
            "author": item.select_one(".comment-author").get_text(strip=True),
            "role": item.select_one(".comment-role").get_text(strip=True),
            "body": item.select_one(".comment-body").get_text(),
        }
        for item in soup.select("li.comment")
    ]


def form_step(html: str) -> str | None:
    form = BeautifulSoup(html, "html.parser").select_one("[data-comment-form]")
    return form["data-step"] if form is not None else None


def form_error(html: str) -> str:
    error = BeautifulSoup(html, "html.parser").select_one("#comment-error")
    return error.get_text(strip=True) if error is not None else ""


async def staff_reply(conn: asyncpg.Connection, issued: Issued, body: str, thread_url: str = "http://x/i/t") -> Posted:
    """A billing-team reply, as the console posts it (the customer and the thread's writers are mailed)."""
    return await post_staff_reply(
        conn, issued.invoice, author_name="Sam", body=body, client_key=new_key(), thread_url=thread_url,
        letters=letters(),
    )  # fmt: skip
