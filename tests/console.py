"""Test helpers for the console: accounts made the CLI's way, and the real two-step sign-in over HTTP."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pyotp
from bs4 import BeautifulSoup

from db.staff import Staff, select_staff_by_email
from db.workspaces import Workspace
from tests.conftest import MovableClock
from tests.sealed import opened
from web.console.auth import create_staff

PASSWORD = "correct horse battery staple"


async def account(
    conn: asyncpg.Connection, ws: Workspace, *, role: str = "billing", email: str = "", password: str = PASSWORD
) -> Staff:
    return await create_staff(
        conn, workspace_id=ws.id, email=email or f"{role}@{ws.slug}.example", display_name=f"{role.title()} Person",
        role=role, password=password,
    )  # fmt: skip


async def current_code(conn: asyncpg.Connection, email: str, clock: MovableClock) -> str:
    staff = await select_staff_by_email(conn, email)
    assert staff is not None and staff.totp_secret, "the account has not started TOTP enrolment"
    return pyotp.TOTP(opened(staff.totp_secret)).at(clock())


async def sign_in(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, email: str, password: str = PASSWORD
) -> str:
    """Password, then TOTP (enrolling on first use). Returns the CSRF token of the signed-in session. The clock
    moves on a time step first, so a second sign-in in the same test never replays a code."""
    clock.offset += timedelta(seconds=30)
    answer = await client.post("/console/sign-in", data={"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    page = await client.get("/console/sign-in/code")
    assert page.status_code == 200, page.text
    csrf = csrf_of(page.text)
    code = await current_code(conn, email, clock)
    done = await client.post("/console/sign-in/code", data={"csrf": csrf, "code": code, "next": "/console"})
    assert done.status_code == 303, done.text
    home = await client.get("/console/account")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def csrf_of(html: str) -> str:
    field = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf"})
    assert field is not None, "no CSRF field on the page"
    return str(field["value"])


def errors_of(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [node.get_text(" ", strip=True) for node in soup.select(".field-error, [role=alert]")]
