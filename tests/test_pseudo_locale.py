"""Every word a customer can read goes through the catalogs: each page state, fragment and refusal rendered in a
pseudo-locale (tests/pseudo.py), and any visible or spoken word that is not a catalog text, nor the invoice's
own data, fails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pyotp
import pytest
from bs4 import BeautifulSoup

from db.invoices import set_comment_settings, void_invoice
from db.payments import insert_settled_payment
from tests import factories
from tests.mailbox import Mailbox
from tests.pseudo import PSEUDO, pseudo_locale, untranslated
from tests.test_payment_flow import DECLINED, card_token, confirm, start, step_urls
from tests.threads import HX, ask_code, grant_access, post_comment
from web.i18n.catalogs import available_languages, language_name
from web.i18n.choice import LANGUAGE_COOKIE


@pytest.fixture
async def reader(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    with pseudo_locale():
        client.cookies.set(LANGUAGE_COOKIE, PSEUDO)
        yield client


def _data(issued: factories.Issued, *extra: str) -> list[str]:
    """What an invoice page shows as it was written: parties, lines, notes, numbers, names."""
    ws = issued.workspace
    return [
        ws.legal_name, *ws.address.splitlines(), ws.tax_id, ws.email, ws.bank_transfer_instructions,
        "Customer SARL", "1 Rue de Rivoli", "75001 Paris", "ap@customer.example", factories.BUYER_VAT,
        "Consulting", "Support", "Net 30", "Thank you for your business.", issued.invoice.number or "",
        "EUR", "KWD", "JPY", *(language_name(code) for code in available_languages()), *extra,
    ]  # fmt: skip


def _assert_translated(response: httpx.Response, data: list[str]) -> None:
    assert response.status_code < 500, response.text
    assert untranslated(response.text, data) == [], response.request.url


async def test_pseudo_locale_invoice_states(reader: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn, locale=PSEUDO)
    data = _data(issued)
    page = await reader.get(issued.url)
    assert BeautifulSoup(page.text, "html.parser").html["lang"] == PSEUDO
    _assert_translated(page, data)
    _assert_translated(await reader.get(f"{issued.url}?view=pdf"), data)
    _assert_translated(await reader.get(f"{issued.url}?view=pdf", headers=HX), data)
    _assert_translated(await reader.get(f"{issued.url}/summary", headers=HX), data)
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=5000, currency="EUR", method="bank_transfer"
    )
    _assert_translated(await reader.get(issued.url), data)  # partly paid, with its payments table
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=12250, currency="EUR", method="other")
    _assert_translated(await reader.get(issued.url), data)  # paid
    voided = await factories.invoice(conn, locale=PSEUDO, ws=issued.workspace)
    await void_invoice(conn, voided.invoice.id, "Duplicate")
    _assert_translated(await reader.get(voided.url), [*_data(voided), "Duplicate"])
    small = await factories.invoice(
        conn, locale=PSEUDO, ws=issued.workspace, lines=[factories.line("Fee", "1", 30, "0")]
    )
    _assert_translated(await reader.get(small.url), [*_data(small), "Fee"])  # below the card minimum


async def test_pseudo_locale_not_found_and_error_pages(reader: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    _assert_translated(await reader.get("/i/no-such-link"), [])
    issued = await factories.invoice(conn, locale=PSEUDO)
    _assert_translated(await reader.get(f"{issued.url}/comments?after=x", headers=HX), [])
    _assert_translated(await reader.post(issued.url), [])  # 405
    _assert_translated(await reader.post(f"{issued.url}/comments/code", content=b"x" * 70_000, headers=HX), [])


async def test_pseudo_locale_comment_steps_and_refusals(
    reader: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn, locale=PSEUDO)
    data = _data(issued, "Claire", "nobody")
    _assert_translated(await ask_code(reader, issued, email="nobody"), data)  # not an address
    _assert_translated(await ask_code(reader, issued, name=""), data)
    asked = await ask_code(reader, issued)  # the code step
    _assert_translated(asked, data)
    wrong = await reader.post(f"{issued.url}/comments/verify", data={"email": "ap@customer.example", "code": "000000"})
    _assert_translated(wrong, data)  # a whole page without JavaScript, with the refusal
    _assert_translated(await post_comment(reader, issued, "too early"), [*data, "too early"])
    verified = await grant_access(reader, issued, mailbox)  # the writing step
    _assert_translated(verified, data)
    _assert_translated(await post_comment(reader, issued, "   "), data)
    posted = await post_comment(reader, issued, "Is the VAT right?")
    _assert_translated(posted, [*data, "Is the VAT right?"])
    _assert_translated(await reader.get(issued.url), [*data, "Is the VAT right?"])  # the thread, own form
    _assert_translated(await reader.post(f"{issued.url}/comments/forget", headers=HX), data)
    await set_comment_settings(conn, issued.invoice.id, mode="closed", require_totp=False)
    _assert_translated(await reader.get(issued.url), [*data, "Is the VAT right?"])  # read-only


async def test_pseudo_locale_totp_steps(reader: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox) -> None:
    issued = await factories.invoice(conn, locale=PSEUDO)
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=True)
    enrol = await grant_access(reader, issued, mailbox)
    secret = BeautifulSoup(enrol.text, "html.parser").select_one(".totp-secret code").get_text()
    data = _data(issued, "Claire", secret)
    _assert_translated(enrol, data)
    wrong = await reader.post(f"{issued.url}/comments/totp", data={"code": "12"}, headers=HX)
    _assert_translated(wrong, data)
    code = pyotp.TOTP(secret.replace(" ", "")).now()
    _assert_translated(await reader.post(f"{issued.url}/comments/totp", data={"code": code}, headers=HX), data)


async def test_pseudo_locale_payment_steps_and_refusals(
    reader: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn, locale=PSEUDO)
    data = _data(issued, "Visa", "1.000,00", "abc")
    for typed in ("abc", "1.000,00", "0.10", "500.00", "172.49"):
        _assert_translated(await start(reader, issued, typed), data)
    no_script = await reader.post(f"{issued.url}/payments", data={"amount": "10.00"})
    _assert_translated(no_script, data)
    step = await start(reader, issued, "50.00")
    _assert_translated(step, data)
    confirm_url, _ = step_urls(step)
    declined = await confirm(reader, confirm_url, await card_token(stripe_api, DECLINED))
    _assert_translated(declined, data)
    confirm_url, _ = step_urls(declined)
    _assert_translated(await confirm(reader, confirm_url, await card_token(stripe_api)), data)
    _assert_translated(await reader.get(issued.url), data)
