"""Workspace settings in the console: saving seller details and defaults (all or nothing), the logo upload, the
Stripe connection panel, and who may see and change what."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from bs4 import BeautifulSoup
from PIL import Image

from db.logos import select_workspace_logo_sha
from db.workspaces import Workspace, select_workspace
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, errors_of, sign_in
from tests.queries import select_invoice
from tests.words import letters
from web.app import create_app
from web.comments.access import AccessError, request_code
from web.i18n.catalogs import ENGLISH
from web.mail import Mailer
from web.pdf import PdfRenderer
from web.realtime import ChangeFeed
from web.settings import Settings

VALID = {
    "legal_name": "Globex Trading Ltd",
    "street": "1 Harbour Road",
    "postcode": "D02 X285",
    "city": "Dublin 2",
    "country_code": "IE",
    "tax_id": "ie 6388047v",
    "contact_name": "Gina Globex",
    "contact_phone": "+353 1 555 0100",
    "contact_email": "gina@globex.example",
    "iban": "IE29 AIBK 9311 5212 3456 78",
    "bic": "AIBKIE2D",
    "endpoint_scheme": "0088",
    "endpoint_id": "5412345000013",
    "einvoice_in_pdf": "on",
    "email": "Accounts@Globex.example",
    "support_email": "help@globex.example",
    "default_currency": "GBP",
    "default_locale": "en_GB",
    "default_comment_mode": "otp",
    "bank_transfer_instructions": "IBAN IE29 AIBK 9311 5212 3456 78\nBIC AIBKIE2D",
}

# Mail stays in the outbox (no SMTP_URL): these calls test the rules, not the delivery.
OUTBOX_ONLY = Mailer("", "Invoices <invoices@example.com>")


def png(size: tuple[int, int] = (64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "PNG")
    return buffer.getvalue()


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def value_of(html: str, name: str) -> str:
    """What the form shows in a field: an input's value, a textarea's text, a select's chosen option."""
    node: Any = soup(html).find(attrs={"name": name})
    assert node is not None, f"no field {name}"
    if node.name == "textarea":
        return str(node.get_text())
    if node.name == "select":
        return str(node.find("option", selected=True)["value"])
    return str(node["value"])


def notice_of(html: str) -> str:
    node = soup(html).select_one("[role=status].notice")
    return node.get_text(strip=True) if node is not None else ""


def stripe_rows(html: str) -> dict[str, tuple[str, str]]:
    """Each Stripe check: whether it is present, and what the page says about it."""
    rows = soup(html).select("#stripe-status [data-check]")
    return {
        str(row["data-check"]): (str(row["data-present"]), row.select_one(".check-detail").get_text(" ", strip=True))
        for row in rows
    }


@contextlib.asynccontextmanager
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def billing_of(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, slug: str = "acme"
) -> tuple[Workspace, str]:
    ws = await factories.workspace(conn, slug)
    staff = await account(conn, ws)
    return ws, await sign_in(client, conn, clock, staff.email)


async def test_settings_billing_saves_every_field_in_one_update(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, csrf = await billing_of(client, conn, clock)
    draft = await factories.invoice(conn, ws=ws, issue=False)
    shown = await client.get("/console/settings")
    assert shown.status_code == 200
    assert value_of(shown.text, "legal_name") == "Acme Billing GmbH"
    assert [value_of(shown.text, name) for name in ("street", "postcode", "city", "country_code")] == [
        "Hauptstraße 1", "10115", "Berlin", "DE",
    ]  # fmt: skip
    assert value_of(shown.text, "default_comment_mode") == "customer"
    assert soup(shown.text).select_one('a[href="/console/settings"][aria-current="page"]') is not None

    saved = await client.post("/console/settings", data={**VALID, "csrf": csrf})
    assert saved.status_code == 303 and saved.headers["location"] == "/console/settings?saved=settings"
    after = await select_workspace(conn, ws.id)
    assert after is not None
    # The printed address is made from the parts (the city before the postcode, as Irish addresses are written).
    assert (after.legal_name, after.address, after.tax_id) == (
        VALID["legal_name"], "1 Harbour Road\nDublin 2 D02 X285\nIreland", "IE 6388047V",
    )  # fmt: skip
    assert (after.country_code, after.iban, after.bic, after.endpoint_id) == (
        "IE", "IE29AIBK93115212345678", "AIBKIE2D", "5412345000013",
    )  # fmt: skip
    assert after.einvoice_in_pdf and not after.address_needs_review
    assert (after.email, after.support_email) == ("accounts@globex.example", "help@globex.example")
    assert (after.default_currency, after.default_locale, after.default_comment_mode) == ("GBP", "en_GB", "otp")
    assert after.bank_transfer_instructions == VALID["bank_transfer_instructions"]
    # Invoices copy the comment mode when they are created; the new default is for invoices made from now on.
    assert await conn.fetchval("SELECT comment_mode FROM invoices WHERE id = $1", draft.invoice.id) == "customer"

    reloaded = await client.get(saved.headers["location"])
    assert notice_of(reloaded.text) == "Saved."
    assert [value_of(reloaded.text, name) for name in ("default_currency", "default_comment_mode")] == ["GBP", "otp"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("legal_name", "   ", "Enter the legal name."),
        ("email", "accounts at globex", "is not an e-mail address"),
        ("support_email", "help@", "is not an e-mail address"),
        ("default_currency", "XXX", "Choose a currency from the list."),
        ("default_locale", "xx_YY_ZZ", "Choose a language and region"),
        ("default_comment_mode", "everyone", "Choose the comment setting from the list."),
        ("street", "Street 1 " * 30, "at most 200 characters"),
        ("country_code", "XX", "Choose the country from the list."),
        ("iban", "DE12", "An IBAN starts with the country"),
        ("bic", "COBA", "A BIC has 8 or 11"),
        ("endpoint_scheme", "12", "Choose the kind of electronic address"),
        ("contact_email", "gina@", "is not an e-mail address"),
        ("bank_transfer_instructions", "x" * 2001, "at most 2,000 characters"),
        ("tax_id", "<b>", "A VAT or tax id"),
    ],
)
async def test_settings_bad_input_comes_back_422_with_everything_typed_and_nothing_saved(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, field: str, value: str, message: str
) -> None:
    ws, csrf = await billing_of(client, conn, clock)
    answer = await client.post("/console/settings", data={**VALID, field: value, "csrf": csrf})
    assert answer.status_code == 422
    page = soup(answer.text)
    problem = page.find(id=f"{field}-error")
    assert problem is not None and message in problem.get_text(), errors_of(answer.text)
    assert page.find(attrs={"name": field, "aria-invalid": "true"}) is not None
    # Every field comes back as it was typed, the wrong one included.
    assert {name: value_of(answer.text, name) for name in VALID} == {**VALID, field: value}
    assert "Nothing was saved" in answer.text and "Saved." not in answer.text
    assert await select_workspace(conn, ws.id) == ws


async def test_settings_markup_in_the_legal_name_is_stored_as_text_and_shown_escaped(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, csrf = await billing_of(client, conn, clock)
    name = '<script>alert("x")</script> & "Sons" <img src=x onerror=alert(1)>'
    refused = await client.post("/console/settings", data={**VALID, "legal_name": name, "email": "bad", "csrf": csrf})
    assert refused.status_code == 422 and "<script>alert" not in refused.text
    assert value_of(refused.text, "legal_name") == name

    saved = await client.post("/console/settings", data={**VALID, "legal_name": name, "csrf": csrf})
    assert saved.status_code == 303
    stored = await select_workspace(conn, ws.id)
    assert stored is not None and stored.legal_name == name
    shown = await client.get("/console/settings")
    assert "<script>alert" not in shown.text and "<img src=x" not in shown.text
    assert value_of(shown.text, "legal_name") == name
    assert not soup(shown.text).select("main script, main img[onerror]")


def mode_labels(html: str, name: str) -> dict[str, str]:
    return {str(o["value"]): o.get_text(" ", strip=True) for o in soup(html).select(f"select[name={name}] option")}


async def test_settings_comment_mode_labels_say_who_really_may_write(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    """Each mode is tried (who gets a code?) and its label must say that; the invoice page offers the same words."""
    ws, _ = await billing_of(client, conn, clock)
    labels = mode_labels((await client.get("/console/settings")).text, "default_comment_mode")
    assert set(labels) == {"customer", "otp", "closed"}
    issued = await factories.invoice(conn, ws=ws)
    customer, stranger = "ap@customer.example", "someone.else@example.net"
    for mode, label in labels.items():
        await conn.execute("UPDATE invoices SET comment_mode = $2 WHERE id = $1", issued.invoice.id, mode)
        invoice = await select_invoice(conn, issued.invoice.id)
        assert invoice is not None
        gets_code: dict[str, bool | None] = {}
        for address in (customer, stranger):
            try:
                sent = await request_code(
                    conn,
                    invoice,
                    name="N",
                    email=address,
                    client=f"10.0.0.{mode}",
                    now=clock(),
                    mailer=OUTBOX_ONLY,
                    letters=letters(),
                    texts=ENGLISH,
                )
                gets_code[address] = bool(sent)
            except AccessError:
                gets_code[address] = None  # refused outright: nobody writes
        said = label.lower()
        if gets_code[stranger]:
            assert said.startswith("anyone") and "code" in said, (mode, label)
        elif gets_code[customer]:
            assert said.startswith("only the customer") and "address on file" in said, (mode, label)
            assert "anyone" not in said, (mode, label)
        else:
            assert gets_code == {customer: None, stranger: None} and said.startswith("read-only"), (mode, label)
    invoice_page = (await client.get(f"/console/invoices/{issued.invoice.id}")).text
    assert mode_labels(invoice_page, "comment_mode") == labels


async def test_settings_are_for_billing_only(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    support = await account(conn, ws, role="support")
    csrf = await sign_in(client, conn, clock, support.email)
    home = await client.get("/console/account")
    assert soup(home.text).select_one('a[href="/console/settings"]') is None
    assert (await client.get("/console/settings")).status_code == 403
    assert (await client.post("/console/settings", data={**VALID, "csrf": csrf})).status_code == 403
    upload = await client.post(
        "/console/settings/logo", data={"csrf": csrf}, files={"logo": ("l.png", png(), "image/png")}
    )
    assert upload.status_code == 403
    assert (await client.post("/console/settings/logo/remove", data={"csrf": csrf})).status_code == 403
    assert await select_workspace(conn, ws.id) == ws
    assert await select_workspace_logo_sha(conn, ws.id) is None


async def test_settings_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, _ = await billing_of(client, conn, clock)
    assert (await client.post("/console/settings", data=VALID)).status_code == 403
    assert (await client.post("/console/settings", data={**VALID, "csrf": "x" * 43})).status_code == 403
    upload = await client.post("/console/settings/logo", files={"logo": ("l.png", png(), "image/png")})
    assert upload.status_code == 403
    assert await select_workspace(conn, ws.id) == ws
    assert await select_workspace_logo_sha(conn, ws.id) is None


async def test_settings_logo_upload_shows_it_and_remove_takes_it_away(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, csrf = await billing_of(client, conn, clock)
    form = soup((await client.get("/console/settings")).text).find("form", attrs={"action": "/console/settings/logo"})
    assert form is not None and form["enctype"] == "multipart/form-data"
    assert form.find("input", attrs={"type": "file", "accept": "image/png,image/jpeg,image/webp"}) is not None

    data = png()
    sha = hashlib.sha256(data).hexdigest()
    uploaded = await client.post(
        "/console/settings/logo", data={"csrf": csrf}, files={"logo": ("logo.png", data, "image/png")}
    )
    assert uploaded.status_code == 303 and uploaded.headers["location"] == "/console/settings?saved=logo"
    assert await select_workspace_logo_sha(conn, ws.id) == sha
    page = soup((await client.get(uploaded.headers["location"])).text)
    assert page.select_one(f'img[src="/logos/{sha}"]') is not None
    assert notice_of(str(page)) == "Logo saved."
    served = await client.get(f"/logos/{sha}")
    assert served.status_code == 200 and served.content == data

    removed = await client.post("/console/settings/logo/remove", data={"csrf": csrf})
    assert removed.status_code == 303
    assert await select_workspace_logo_sha(conn, ws.id) is None
    page = soup((await client.get(removed.headers["location"])).text)
    assert page.select_one("img.logo-preview") is None and "Logo removed." in page.get_text()
    assert page.find("form", attrs={"action": "/console/settings/logo/remove"}) is None


@pytest.mark.parametrize(
    ("name", "data", "declared", "message"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            "SVG logos are not accepted",
        ),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (600 * 1024), "image/png", "the limit is 512 KB"),
        ("empty.png", b"", "image/png", "Choose an image file."),
        ("notes.png", b"just some text, not an image", "image/png", "not a PNG, JPEG or WebP image"),
    ],
)
async def test_settings_logo_refuses_what_is_not_a_small_raster_image(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock,
    name: str, data: bytes, declared: str, message: str,
) -> None:  # fmt: skip
    ws, csrf = await billing_of(client, conn, clock)
    kept = png()
    assert (
        await client.post("/console/settings/logo", data={"csrf": csrf}, files={"logo": ("k.png", kept, "image/png")})
    ).status_code == 303
    refused = await client.post("/console/settings/logo", data={"csrf": csrf}, files={"logo": (name, data, declared)})
    assert refused.status_code == 422
    page = soup(refused.text)
    problem = page.find(id="logo-error")
    assert problem is not None and message in problem.get_text()
    assert page.find("input", attrs={"name": "logo", "aria-invalid": "true"}) is not None
    # The settings form around it still shows the stored values, and the stored logo is unchanged.
    assert value_of(refused.text, "legal_name") == ws.legal_name
    assert await select_workspace_logo_sha(conn, ws.id) == hashlib.sha256(kept).hexdigest()


async def test_settings_logo_far_over_the_request_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, csrf = await billing_of(client, conn, clock)
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024)
    refused = await client.post(
        "/console/settings/logo", data={"csrf": csrf}, files={"logo": ("h.png", huge, "image/png")}
    )
    assert refused.status_code == 413
    assert await select_workspace_logo_sha(conn, ws.id) is None


async def test_settings_stripe_panel_reports_keys_without_revealing_them_and_the_last_webhook(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settings: Settings
) -> None:
    await billing_of(client, conn, clock)
    shown = await client.get("/console/settings")
    checks = stripe_rows(shown.text)
    assert checks["Secret key"] == ("yes", "sk_test_… (test mode)")
    assert checks["Publishable key"] == ("yes", "pk_test_… (test mode)")
    assert checks["Webhook signing secret"] == ("yes", "Set.")
    assert checks["Last webhook received"][0] == "no" and checks["Last webhook received"][1].startswith("None yet.")
    assert "Key modes" not in checks
    for secret in (settings.stripe_secret_key, settings.stripe_webhook_secret):
        assert secret not in shown.text

    await conn.execute(
        "INSERT INTO stripe_events (id, type, received_at) VALUES ('evt_old', 'charge.refunded', '2026-01-01T09:00Z'),"
        " ('evt_new', 'payment_intent.succeeded', '2026-03-02T10:15Z')"
    )
    checks = stripe_rows((await client.get("/console/settings")).text)
    assert checks["Last webhook received"] == ("yes", "payment_intent.succeeded, 2026-03-02 10:15 UTC")


@pytest.fixture
async def half_configured_app(
    settings: Settings, pdf_renderer: PdfRenderer, change_feed: ChangeFeed, session_clock: MovableClock
) -> AsyncIterator[Any]:
    """Real-length keys from different modes, and no webhook secret: what a half-finished set-up looks like."""
    partial = dataclasses.replace(
        settings,
        stripe_secret_key="sk_test_" + "a1B2c3D4" * 12 + "WXYZ",
        stripe_publishable_key="pk_live_" + "e5F6g7H8" * 12 + "QRST",
        stripe_webhook_secret="",
    )
    app = create_app(partial, pdf_renderer=pdf_renderer, change_feed=change_feed, clock=session_clock)
    async with LifespanManager(app) as manager:
        yield manager.app


async def test_settings_stripe_panel_says_what_breaks_while_a_piece_is_missing(
    half_configured_app: Any, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    async with http(half_configured_app) as client:
        await billing_of(client, conn, clock)
        shown = await client.get("/console/settings")
    checks = stripe_rows(shown.text)
    assert checks["Secret key"] == ("yes", "sk_test_…WXYZ (test mode)")
    assert checks["Publishable key"] == ("yes", "pk_live_…QRST (live mode)")
    assert "a1B2c3D4" not in shown.text and "e5F6g7H8" not in shown.text
    present, says = checks["Webhook signing secret"]
    assert present == "no" and "STRIPE_WEBHOOK_SECRET" in says and "stay “processing”" in says
    assert checks["Key modes"][0] == "no" and "same mode" in checks["Key modes"][1]


async def test_settings_each_workspace_sees_and_changes_only_its_own(
    client: httpx.AsyncClient, app_manager: LifespanManager, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    acme, _ = await billing_of(client, conn, clock)
    async with http(app_manager.app) as other_client:
        globex, csrf = await billing_of(other_client, conn, clock, slug="globex")
        shown = await other_client.get("/console/settings")
        assert value_of(shown.text, "legal_name") == globex.legal_name
        await conn.execute("UPDATE workspaces SET legal_name = 'Acme Only' WHERE id = $1", acme.id)
        assert "Acme Only" not in (await other_client.get("/console/settings")).text
        saved = await other_client.post("/console/settings", data={**VALID, "csrf": csrf})
        assert saved.status_code == 303
        logo = await other_client.post(
            "/console/settings/logo", data={"csrf": csrf}, files={"logo": ("l.png", png(), "image/png")}
        )
        assert logo.status_code == 303
    changed = await select_workspace(conn, globex.id)
    assert changed is not None and changed.legal_name == VALID["legal_name"]
    untouched = await select_workspace(conn, acme.id)
    assert untouched == dataclasses.replace(acme, legal_name="Acme Only")
    assert await select_workspace_logo_sha(conn, acme.id) is None
    assert "Acme Only" in (await client.get("/console/settings")).text
