"""Test helpers for the console: accounts made the CLI's way, and the real two-step sign-in over HTTP."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pyotp
from bs4 import BeautifulSoup
from playwright.async_api import Page, expect

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


async def console_sign_in(
    page: Page, origin: str, conn: asyncpg.Connection, email: str, password: str = PASSWORD
) -> None:
    """A first sign-in to the console, enrolling the authenticator (the code computed from the stored secret)."""
    await page.goto(f"{origin}/console")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    await expect(page.get_by_alt_text("QR code to add the console to your authenticator app")).to_be_visible()
    staff = await select_staff_by_email(conn, email)
    assert staff is not None and staff.totp_secret
    await page.get_by_label("6-digit code").fill(pyotp.TOTP(opened(staff.totp_secret)).now())
    await page.get_by_role("button", name="Sign in").click()
