"""Console sign-in: password then TOTP (enrolled at the first sign-in), replay guard, backoff and lockout,
session expiry and ending, CSRF, and the create-staff command."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import asyncpg
import httpx
import pyotp
import pytest

from db.staff import select_staff_by_email
from tests import factories
from tests.conftest import MovableClock
from tests.console import PASSWORD, account, csrf_of, current_code, errors_of, sign_in
from tests.sealed import opened
from web import cli
from web.settings import PROJECT_ROOT


async def test_first_sign_in_enrols_totp_with_a_qr_code_then_asks_only_for_the_code(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    assert (await client.get("/console/account")).headers["location"].startswith("/console/sign-in")

    answer = await client.post("/console/sign-in", data={"email": "  Billing@Acme.Example ", "password": PASSWORD})
    assert answer.status_code == 303
    enrol = await client.get("/console/sign-in/code")
    assert "Set up your authenticator app" in enrol.text and 'src="data:image/svg+xml' in enrol.text
    # A pending session (password only) reaches nothing in the console.
    assert (await client.get("/console/account")).status_code == 303
    reloaded = await client.get("/console/sign-in/code")
    assert csrf_of(reloaded.text) == csrf_of(enrol.text)
    secret = opened((await select_staff_by_email(conn, staff.email)).totp_secret)  # type: ignore[union-attr]
    assert secret and secret.replace(" ", "") in enrol.text.replace(" ", "")

    code = pyotp.TOTP(secret).at(clock())
    done = await client.post("/console/sign-in/code", data={"csrf": csrf_of(enrol.text), "code": code})
    assert done.status_code == 303
    assert (await client.get("/console/account")).status_code == 200
    assert (await select_staff_by_email(conn, staff.email)).totp_confirmed_at is not None  # type: ignore[union-attr]

    await client.post("/console/sign-out", data={"csrf": csrf_of((await client.get("/console/account")).text)})
    clock.offset += timedelta(seconds=30)
    await client.post("/console/sign-in", data={"email": staff.email, "password": PASSWORD})
    second = await client.get("/console/sign-in/code")
    assert "Enter your code" in second.text and "data:image/svg+xml" not in second.text


async def test_wrong_password_and_unknown_address_get_the_same_answer_and_keep_the_address(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ws = await factories.workspace(conn)
    await account(conn, ws)
    wrong = await client.post("/console/sign-in", data={"email": "billing@acme.example", "password": "nope" * 4})
    unknown = await client.post("/console/sign-in", data={"email": "nobody@acme.example", "password": "nope" * 4})
    empty = await client.post("/console/sign-in", data={"email": "", "password": ""})
    huge = await client.post("/console/sign-in", data={"email": "a@b.c", "password": "x" * 5000})
    assert wrong.status_code == unknown.status_code == empty.status_code == 422
    assert huge.status_code in (413, 422)
    assert errors_of(wrong.text) == errors_of(unknown.text) == ["The e-mail address or password is not right."]
    assert 'value="billing@acme.example"' in wrong.text and "nope" not in wrong.text
    assert errors_of(empty.text) == ["Enter your e-mail address and your password."]
    assert "console_session" not in wrong.cookies


async def test_failures_back_off_then_lock_the_address_until_they_age_out(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    for _ in range(3):
        assert (await client.post("/console/sign-in", data={"email": staff.email, "password": "x"})).status_code == 422
    waiting = await client.post("/console/sign-in", data={"email": staff.email, "password": PASSWORD})
    assert waiting.status_code == 429 and "Wait" in errors_of(waiting.text)[0]
    for _ in range(7):
        clock.offset += timedelta(seconds=61)
        assert (await client.post("/console/sign-in", data={"email": staff.email, "password": "x"})).status_code == 422
    clock.offset += timedelta(seconds=61)
    locked = await client.post("/console/sign-in", data={"email": staff.email, "password": PASSWORD})
    assert locked.status_code == 429 and "locked" in errors_of(locked.text)[0]
    # Unknown addresses lock the same way: the answers never tell which addresses exist.
    clock.offset += timedelta(minutes=16)
    await sign_in(client, conn, clock, staff.email)


async def test_a_totp_code_is_accepted_once_and_wrong_codes_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    csrf = await sign_in(client, conn, clock, staff.email)
    used = await current_code(conn, staff.email, clock)
    await client.post("/console/sign-out", data={"csrf": csrf})

    await client.post("/console/sign-in", data={"email": staff.email, "password": PASSWORD})
    page = await client.get("/console/sign-in/code")
    replay = await client.post("/console/sign-in/code", data={"csrf": csrf_of(page.text), "code": used})
    assert replay.status_code == 422 and errors_of(replay.text) == [
        "This code was already used. Wait for the next one."
    ]
    wrong = await client.post("/console/sign-in/code", data={"csrf": csrf_of(page.text), "code": "12345"})
    assert wrong.status_code == 422 and "not right" in errors_of(wrong.text)[0]
    forged = await client.post("/console/sign-in/code", data={"csrf": "x" * 43, "code": used})
    assert forged.status_code == 403
    assert (await client.get("/console/account")).status_code == 303


async def test_sessions_expire_when_idle_and_at_their_end_and_can_be_ended(
    app_manager: object, client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    csrf = await sign_in(client, conn, clock, staff.email)
    clock.offset += timedelta(minutes=29)
    assert (await client.get("/console/account")).status_code == 200
    clock.offset += timedelta(minutes=31)
    assert (await client.get("/console/account")).headers["location"].startswith("/console/sign-in")

    csrf = await sign_in(client, conn, clock, staff.email)
    # A second browser signed in as the same person: "sign out all other sessions" ends it.
    transport = httpx.ASGITransport(app=app_manager.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, conn, clock, staff.email)
        refused = await client.post("/console/account/sessions/end-others", data={})
        assert refused.status_code == 403  # no CSRF token
        assert (await other.get("/console/account")).status_code == 200
        ended = await client.post("/console/account/sessions/end-others", data={"csrf": csrf})
        assert ended.status_code == 303
        assert (await other.get("/console/account")).status_code == 303
    assert (await client.get("/console/account")).status_code == 200

    await client.post("/console/sign-out", data={"csrf": csrf})
    assert (await client.get("/console/account")).status_code == 303


async def test_htmx_requests_without_a_session_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/console/account", headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"].startswith("/console/sign-in")


def test_create_staff_command(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], conn: asyncpg.Connection
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STAFF_PASSWORD", "short")
    assert cli.main(["create-staff", "--email", "a@demo.example", "--role", "billing"]) == 2
    assert "no workspace" in capsys.readouterr().err


async def test_create_staff_command_creates_an_account_that_can_sign_in(
    database_url: str, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient, conn: asyncpg.Connection,
    clock: MovableClock,
) -> None:  # fmt: skip
    await factories.workspace(conn, slug="demo")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STAFF_PASSWORD", "short")
    assert await _run_cli(["create-staff", "--email", "Sam@Demo.Example", "--role", "support"]) == 2
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    assert await _run_cli(["create-staff", "--email", "Sam@Demo.Example", "--role", "support"]) == 0
    assert await _run_cli(["create-staff", "--email", "sam@demo.example", "--role", "billing"]) == 2
    staff = await select_staff_by_email(conn, "sam@demo.example")
    assert staff is not None and staff.role == "support" and staff.password_hash.startswith("$argon2id$")
    await sign_in(client, conn, clock, "sam@demo.example")


async def _run_cli(argv: list[str]) -> int:
    """cli.main runs its own event loop: give it a thread."""
    import asyncio

    return await asyncio.to_thread(cli.main, argv)


def test_a_deployment_hashes_passwords_at_full_cost() -> None:
    """The suite hashes cheaply (tests/__init__.py); without that variable, argon2id runs at argon2-cffi's
    RFC 9106 parameters (64 MiB, 3 passes), the cost that makes a stolen hash slow to guess."""
    env = {k: v for k, v in os.environ.items() if k != "INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS"}
    code = "from web.console.auth import PASSWORDS as p; print(p.memory_cost, p.time_cost, p.hash('x')[:9])"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["65536", "3", "$argon2id"]
