"""The optional TOTP step for writers: enrolment with a QR code, codes accepted once, the billing team's reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pyotp
from bs4 import BeautifulSoup

from db.comment_access import delete_enrolment
from db.invoices import set_comment_settings
from tests import factories
from tests.conftest import MovableClock
from tests.mailbox import Mailbox
from tests.threads import CUSTOMER_EMAIL, HX, form_error, form_step, grant_access, post_comment


def _secret(html: str) -> str:
    return BeautifulSoup(html, "html.parser").select_one(".totp-secret code").get_text().replace(" ", "")


async def _totp(client: httpx.AsyncClient, url: str, code: str) -> httpx.Response:
    return await client.post(f"{url}/comments/totp", data={"code": code, "body": "draft"}, headers=HX)


async def test_comment_totp_enrols_then_asks_for_a_code_accepted_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=True)
    verified = await grant_access(client, issued, mailbox)
    assert form_step(verified.text) == "totp"
    soup = BeautifulSoup(verified.text, "html.parser")
    assert soup.select_one("img.totp-qr")["src"].startswith("data:image/svg+xml")
    secret = _secret(verified.text)
    totp = pyotp.TOTP(secret)

    early = await post_comment(client, issued, "before the app code")
    assert early.status_code == 422 and "confirm your e-mail address" in form_error(early.text)
    wrong = await _totp(client, issued.url, "000000" if totp.now() != "000000" else "111111")
    assert wrong.status_code == 422 and form_error(wrong.text).startswith("That code is not right.")
    assert "draft" in wrong.text  # the text is kept

    now = datetime.now(UTC)
    code = totp.at(now)
    accepted = await _totp(client, issued.url, code)
    assert accepted.status_code == 200 and form_step(accepted.text) == "compose"
    assert (await post_comment(client, issued, "with two factors")).status_code == 200

    # A new device later: e-mail code again, then only the app's code (no QR), and the same code is refused.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as other_device:
        again = await grant_access(other_device, issued, mailbox)
        assert (
            form_step(again.text) == "totp"
            and BeautifulSoup(again.text, "html.parser").select_one("img.totp-qr") is None
        )
        replayed = await _totp(other_device, issued.url, code)
        assert replayed.status_code == 422 and "already used" in form_error(replayed.text)
        clock.offset = timedelta(seconds=30)
        fresh = await _totp(other_device, issued.url, totp.at(now + timedelta(seconds=30)))
        assert fresh.status_code == 200 and form_step(fresh.text) == "compose"

    # The billing team resets the enrolment: the next writer session enrols anew with a new secret.
    assert await delete_enrolment(conn, issued.workspace.id, CUSTOMER_EMAIL)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as third_device:
        reset = await grant_access(third_device, issued, mailbox)
        assert _secret(reset.text) != secret


async def test_comment_totp_too_many_wrong_codes_end_the_session(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=True)
    verified = await grant_access(client, issued, mailbox)
    totp = pyotp.TOTP(_secret(verified.text))
    bad = "000000" if totp.now() != "000000" else "111111"
    errors = [form_error((await _totp(client, issued.url, bad)).text) for _ in range(5)]
    assert errors[-1] == "Too many wrong codes. Please confirm your e-mail address again."
    after = await _totp(client, issued.url, totp.now())
    assert after.status_code == 422 and form_step(after.text) == "email"
    for junk in ("", "12345", "1234567", "١٢٣٤٥٦", "abcdef"):
        assert (await _totp(client, issued.url, junk)).status_code == 422
