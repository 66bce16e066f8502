"""Invoices made in Stripe Invoicing copied into their workspace (issue 16, Stripe → portal), with the real SDK
against the Stripe double: events as triggers (alone, duplicated, late, shuffled), Stripe's amounts kept as they
are, the portal page of an imported invoice, and the backfill (250 invoices over pages, twice, interrupted and
resumed, and the command)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
import stripe
from bs4 import BeautifulSoup

from db.rows import init_connection
from db.stripe_connections import select_stripe_connection
from db.stripe_payments import ImportedPayment, keep_imported_payments
from tests import factories
from tests.mailbox import Mailbox
from tests.sealed import BOX, TEST_SECRET_KEY, opened
from tests.test_payment_flow import confirm, start, step_urls
from tests.test_stripe_double_invoicing import paid_intent
from tests.test_stripe_workspaces import Team, card_token
from tests.test_stripe_workspaces import teams as teams  # the fixture
from tests.test_webhooks import event, signed
from web.dev.local_stripe import create_account
from web.http.templating import build_templates
from web.i18n.letters import Letters
from web.mail import Mailer
from web.receipts.mailing import mail_receipts
from web.settings import PROJECT_ROOT, Settings
from web.stripe.accounts import StripeAccounts
from web.stripe_sync.backfill import backfill
from web.stripe_sync.events import HANDLED_EVENTS, sync_invoice


def sdk(base: str, team: Team) -> stripe.StripeClient:
    return stripe.StripeClient(team.stripe["secret_key"], base_addresses={"api": base}, max_network_retries=0)


def make_invoice(client: stripe.StripeClient, *, finalize: bool = True, customer: str | None = None) -> Any:
    """A one-off invoice in Stripe: 100.00 at 19 % VAT and 3 × 25.00 untaxed, due in 30 days."""
    if customer is None:
        customer = client.v1.customers.create(
            {"name": "Globex Corp", "email": "ap@globex.example",
             "address": {"line1": "1 Main St", "postal_code": "12345", "city": "Springfield", "country": "US"}}
        ).id  # fmt: skip
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 19, "inclusive": False})
    draft = client.v1.invoices.create(
        {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30, "currency": "eur"}
    )
    client.v1.invoice_items.create(
        {"customer": customer, "invoice": draft.id, "amount": 10000, "currency": "eur", "description": "Consulting",
         "tax_rates": [rate.id]}
    )  # fmt: skip
    client.v1.invoice_items.create(
        {"customer": customer, "invoice": draft.id, "unit_amount_decimal": "2500", "quantity": 3, "currency": "eur",
         "description": "Support"}
    )  # fmt: skip
    return client.v1.invoices.finalize_invoice(draft.id) if finalize else draft


async def connected(team: Team, conn: asyncpg.Connection) -> str:
    """Connect the team's account; its webhook secret."""
    assert (await team.connect()).status_code == 303
    connection = await select_stripe_connection(conn, team.ws.id)
    assert connection is not None
    return opened(connection.webhook_secret)


async def deliver(client: httpx.AsyncClient, team: Team, secret: str, kind: str, invoice_id: str) -> str:
    """An event about the invoice at the team's endpoint (what it carries does not matter: the invoice is read)."""
    body = json.dumps(event(kind, {"id": invoice_id, "object": "invoice"})).encode()
    answer = await client.post(f"/webhooks/stripe/{team.ws.id}", content=body, headers=signed(body, secret))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["outcome"])


async def one_imported(client: httpx.AsyncClient, conn: asyncpg.Connection, base: str, team: Team) -> Any:
    """Connect the team, make one invoice in its Stripe account, and let its event copy it; the Stripe invoice."""
    secret = await connected(team, conn)
    invoice = await asyncio.to_thread(make_invoice, sdk(base, team))
    assert await deliver(client, team, secret, "invoice.finalized", invoice.id) == "created"
    return invoice


async def link_of(conn: asyncpg.Connection, stripe_id: str) -> str:
    """The token of the portal link made for an imported invoice."""
    token: str = await conn.fetchval(
        "SELECT l.token FROM portal_links l JOIN invoices i ON i.id = l.invoice_id WHERE i.stripe_invoice_id = $1",
        stripe_id,
    )
    return token


async def pay_by_card_in_portal(
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    stripe_base: str,
    team: Team,
    secret: str,
    token: str,
    amount: str,
) -> None:
    """A card payment of `amount` on the imported invoice's portal page, and Stripe's payment_intent.succeeded for it
    delivered to the team's endpoint."""
    link = SimpleNamespace(url=f"/i/{token}")
    confirm_url, _ = step_urls(await start(client, link, amount))
    done = await confirm(client, confirm_url, await card_token(stripe_base, team.stripe["publishable_key"]))
    assert done.headers["X-Payment-Step"] == "done", done.text
    intent_id = await conn.fetchval(
        "SELECT stripe_payment_intent_id FROM payments WHERE attempt_key = $1", confirm_url.split("/")[-2]
    )
    intent = (await asyncio.to_thread(sdk(stripe_base, team).v1.payment_intents.retrieve, intent_id)).to_dict()
    body = json.dumps(event("payment_intent.succeeded", intent), default=str).encode()
    answer = await client.post(f"/webhooks/stripe/{team.ws.id}", content=body, headers=signed(body, secret))
    assert answer.json()["outcome"] == "applied"


async def imported(conn: asyncpg.Connection, stripe_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT i.id, i.number, i.status, i.version, s.total, s.amount_remaining, s.net, s.tax
        FROM invoices i JOIN stripe_invoices s ON s.invoice_id = i.id WHERE i.stripe_invoice_id = $1
        """,
        stripe_id,
    )


async def test_events_alone_duplicated_late_and_shuffled_end_on_stripes_state(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    secret = await connected(north, conn)
    api = sdk(stripe_base, north)
    draft = await asyncio.to_thread(make_invoice, api, finalize=False)
    assert await deliver(client, north, secret, "invoice.created", draft.id) == "draft"
    assert await imported(conn, draft.id) is None  # a draft is not shown

    finalized = await asyncio.to_thread(api.v1.invoices.finalize_invoice, draft.id)
    assert await deliver(client, north, secret, "invoice.finalized", draft.id) == "created"
    row = await imported(conn, draft.id)
    assert row is not None and row["number"] == finalized.number and row["status"] == "open"
    assert (row["net"], row["tax"], row["total"], row["amount_remaining"]) == (17500, 1900, 19400, 19400)
    # The same event again is recorded once; a late one (another id) reads the invoice again: nothing new.
    duplicate = json.dumps(event("invoice.finalized", {"id": draft.id})).encode()
    for _ in range(2):
        answer = await client.post(
            f"/webhooks/stripe/{north.ws.id}", content=duplicate, headers=signed(duplicate, secret)
        )
        assert answer.status_code == 200
    assert answer.json()["outcome"] == "duplicate"
    assert await deliver(client, north, secret, "invoice.created", draft.id) == "unchanged"

    await asyncio.to_thread(api.v1.invoices.pay, draft.id, {"paid_out_of_band": True})
    assert await deliver(client, north, secret, "invoice.paid", draft.id) == "updated"
    # Shuffled: an older event arriving after the payment still finds the invoice paid.
    assert await deliver(client, north, secret, "invoice.finalized", draft.id) == "unchanged"
    paid = await imported(conn, draft.id)
    assert paid is not None and paid["status"] == "paid" and paid["amount_remaining"] == 0
    customer = await conn.fetchrow(
        "SELECT name, email, billing_address FROM customers WHERE workspace_id = $1 AND stripe_customer_id = $2",
        north.ws.id, finalized.customer,
    )  # fmt: skip
    assert customer is not None and customer["name"] == "Globex Corp" and "Springfield" in customer["billing_address"]
    parts = await conn.fetchrow(
        "SELECT street, postcode, city, country_code FROM customers WHERE stripe_customer_id = $1", finalized.customer
    )
    assert tuple(parts) == ("1 Main St", "12345", "Springfield", "US")  # type: ignore[arg-type]  # in parts too
    links = await conn.fetchval("SELECT count(*) FROM portal_links WHERE invoice_id = $1", paid["id"])
    assert links == 1  # a link like any invoice's, made once


async def test_voided_shows_void_deleted_draft_never_appears_and_other_accounts_stay_out(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, south = teams
    secret = await connected(north, conn)
    api = sdk(stripe_base, north)
    voided = await asyncio.to_thread(make_invoice, api)
    assert await deliver(client, north, secret, "invoice.finalized", voided.id) == "created"
    await asyncio.to_thread(api.v1.invoices.void_invoice, voided.id)
    assert await deliver(client, north, secret, "invoice.voided", voided.id) == "updated"
    row = await imported(conn, voided.id)
    assert row is not None and row["status"] == "void"

    draft = await asyncio.to_thread(make_invoice, api, finalize=False)
    await asyncio.to_thread(api.v1.invoices.delete, draft.id)
    assert await deliver(client, north, secret, "invoice.deleted", draft.id) == "not at Stripe"
    assert await imported(conn, draft.id) is None

    # South's invoice, announced at North's endpoint: North's key cannot read it, so nothing is copied.
    south_invoice = await asyncio.to_thread(make_invoice, sdk(stripe_base, south))
    assert await deliver(client, north, secret, "invoice.finalized", south_invoice.id) == "not at Stripe"
    # The deployment's account imports nothing (it serves every workspace; an invoice names none of them).
    body = json.dumps(event("invoice.finalized", {"id": voided.id})).encode()
    answer = await client.post("/webhooks/stripe", content=body, headers=signed(body))
    assert answer.json()["outcome"].startswith("ignored")


async def test_the_portal_page_of_an_imported_invoice_shows_stripes_amounts_and_links(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    token = await link_of(conn, invoice.id)
    page = await client.get(f"/i/{token}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one(".amount-due-value").get_text() == "€194.00"
    assert invoice.number in soup.get_text() and "Consulting" in soup.get_text() and "Support" in soup.get_text()
    assert soup.find(id="stripe-pdf")["href"] == invoice.invoice_pdf
    payment = soup.find(id="payment")
    # Payable here, since the workspace holds the key of the account the invoice lives in.
    assert payment.find("form") is not None and soup.find(id="pay-at-stripe") is None
    pdf = await client.get(f"/i/{token}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_backfill_walks_every_page_twice_without_duplicates_and_resumes(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    api = sdk(stripe_base, north)

    def many() -> None:
        customer = api.v1.customers.create({"name": "Initech", "email": "ap@initech.example"}).id
        for _ in range(250):
            make_invoice(api, customer=customer)
        for _ in range(3):
            make_invoice(api, customer=customer, finalize=False)

    await asyncio.to_thread(many)
    accounts = StripeAccounts(settings, BOX)
    account = await accounts.own(conn, north.ws.id)
    assert account is not None
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=3, init=init_connection)
    try:

        class Interrupted(Exception):
            pass

        def stop_after_first_page(sync: Any, resumed: bool) -> None:
            raise Interrupted

        with pytest.raises(Interrupted):
            await backfill(pool, account, progress=stop_after_first_page)
        # The first page (newest first) held the 3 drafts, skipped until they are finalized.
        assert await conn.fetchval("SELECT count(*) FROM invoices WHERE source = 'stripe'") == 97
        pages: list[bool] = []
        first = await backfill(pool, account, progress=lambda sync, resumed: pages.append(resumed))
        assert pages == [True, True]  # the rest, resumed after the last whole page
        assert (first.created, first.skipped, first.failed) == (250, 3, [])
        again = await backfill(pool, account)
        assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 250, 3)
    finally:
        await pool.close()
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE source = 'stripe'") == 250
    assert await conn.fetchval("SELECT count(DISTINCT number) FROM invoices WHERE source = 'stripe'") == 250


async def test_the_stripe_sync_command_prints_progress_and_a_summary(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    await asyncio.to_thread(make_invoice, sdk(stripe_base, north))
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("STRIPE_")},
        "DATABASE_URL": str(settings.database_url), "SECRET_KEY": TEST_SECRET_KEY, "STRIPE_API_BASE": stripe_base,
    }  # fmt: skip
    command = [sys.executable, "-m", "web.cli", "stripe-sync", "--workspace", north.ws.slug]
    done = await asyncio.to_thread(
        subprocess.run, command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "1 invoices" in done.stderr and f"Stripe sync of {north.ws.slug}: 1 created" in done.stdout
    unknown = await asyncio.to_thread(
        subprocess.run, [*command[:-1], "nowhere"], cwd=PROJECT_ROOT, env=environment, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no workspace 'nowhere'" in unknown.stderr


async def test_the_console_shows_an_imported_invoice_and_leaves_its_changes_to_stripe(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    row = await imported(conn, invoice.id)
    assert row is not None
    page = await north.console.get(f"/console/invoices/{row['id']}")
    assert page.status_code == 200
    panel = BeautifulSoup(page.text, "html.parser").find(attrs={"data-source": "stripe"})
    assert panel is not None and invoice.id in panel.get_text()
    assert "€194.00" in page.text and invoice.number in page.text
    for action, data in (
        ("void", {"reason": "duplicate"}), ("uncollectible", {}), ("payments", {"amount": "10.00", "method": "other"}),
    ):  # fmt: skip
        refused = await north.console.post(f"/console/invoices/{row['id']}/{action}", data={"csrf": north.csrf, **data})
        assert refused.status_code == 409 and "made in Stripe" in refused.text
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", row["id"]) == "open"
    assert await conn.fetchval("SELECT count(*) FROM payments WHERE invoice_id = $1", row["id"]) == 0


async def test_sync_now_runs_in_the_background_and_the_page_follows_its_progress(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    api = sdk(stripe_base, north)
    await asyncio.to_thread(lambda: [make_invoice(api) for _ in range(3)])
    shown = BeautifulSoup((await north.console.get("/console/settings")).text, "html.parser")
    assert "Not synced yet" in shown.find(id="stripe-sync").get_text()
    started = await north.console.post("/console/settings/stripe/sync", data={"csrf": north.csrf})
    assert started.status_code == 303
    for _ in range(100):
        status = BeautifulSoup((await north.console.get("/console/settings/stripe/sync")).text, "html.parser")
        state = status.find(attrs={"data-sync-state": True})
        if state is not None and state["data-sync-state"] == "finished":
            break
        await asyncio.sleep(0.1)
    assert state is not None and "3 new" in state.get_text()
    assert status.find(id="stripe-sync").get("hx-trigger") is None  # the poll stops with the sync
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE source = 'stripe'") == 3


async def test_reconciliation_catches_missed_events_and_widens_an_old_endpoint(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings, app_variant: Any
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    connection = await select_stripe_connection(conn, north.ws.id)
    assert connection is not None
    api = sdk(stripe_base, north)
    # An endpoint made before the portal handled invoices asked only for payment events.
    await asyncio.to_thread(
        api.v1.webhook_endpoints.update,
        connection.webhook_endpoint_id,
        {"enabled_events": ["payment_intent.succeeded"]},
    )
    missed = await asyncio.to_thread(make_invoice, api)  # its events never reach the portal (ASGI, no socket)
    async with app_variant(stripe_reconcile_minutes=0.01):  # every 0.6 s
        for _ in range(100):
            if await imported(conn, missed.id) is not None:
                break
            await asyncio.sleep(0.1)
    assert await imported(conn, missed.id) is not None
    endpoint = await asyncio.to_thread(api.v1.webhook_endpoints.retrieve, connection.webhook_endpoint_id)
    assert set(HANDLED_EVENTS) <= set(endpoint.enabled_events)


async def test_paying_an_imported_invoice_in_the_portal_pays_it_in_stripe(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """Part, then the rest: each intent is attached to the Stripe invoice, so Stripe's amount remaining follows
    (and the copy with it, as soon as the payment's own event arrives)."""
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    connection = await select_stripe_connection(conn, north.ws.id)
    assert connection is not None
    secret = opened(connection.webhook_secret)
    token = await link_of(conn, invoice.id)
    link = SimpleNamespace(url=f"/i/{token}")
    page = BeautifulSoup((await client.get(link.url)).text, "html.parser")
    assert page.find(id="payment-amount")["value"] == "194.00"  # Stripe's amount remaining, by card here
    api = sdk(stripe_base, north)
    for amount, remaining in (("50.00", 14400), ("144.00", 0)):
        await pay_by_card_in_portal(client, conn, stripe_base, north, secret, token, amount)
        at_stripe = await asyncio.to_thread(api.v1.invoices.retrieve, invoice.id)
        assert at_stripe.amount_remaining == remaining
        copy = await imported(conn, invoice.id)
        assert copy is not None and copy["amount_remaining"] == remaining  # the copy followed at once
    assert at_stripe.status == "paid"
    assert (await imported(conn, invoice.id))["status"] == "paid"  # type: ignore[index]
    summary = BeautifulSoup((await client.get(link.url)).text, "html.parser")
    assert summary.select_one(".amount-due-value").get_text() == "€0.00"


async def test_an_imported_invoice_of_another_account_is_paid_on_stripes_page(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """The workspace moved to another Stripe account: its earlier Stripe invoices live in the old one, which the
    portal can no longer charge for, so their customers pay on Stripe's own page."""
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    north.stripe = create_account(stripe_base, "North Trading (new account)")
    assert (await north.connect()).status_code == 303
    token = await link_of(conn, invoice.id)
    soup = BeautifulSoup((await client.get(f"/i/{token}")).text, "html.parser")
    payment = soup.find(id="payment")
    assert payment.find("form") is None and "issued through Stripe" in payment.get_text()
    assert soup.find(id="pay-at-stripe")["href"] == invoice.hosted_invoice_url


async def test_two_tabs_cannot_overpay_an_imported_invoice(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """Both tabs reach the card step for all of Stripe's amount remaining and confirm at the same moment."""
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    token = await link_of(conn, invoice.id)
    link = SimpleNamespace(url=f"/i/{token}")
    first_url, _ = step_urls(await start(client, link, "194.00"))
    second_url, _ = step_urls(await start(client, link, "194.00"))
    key = north.stripe["publishable_key"]
    tokens = [await card_token(stripe_base, key), await card_token(stripe_base, key)]
    answers = await asyncio.gather(confirm(client, first_url, tokens[0]), confirm(client, second_url, tokens[1]))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    api = sdk(stripe_base, north)
    statuses = []
    for url in (first_url, second_url):
        intent_id = await conn.fetchval(
            "SELECT stripe_payment_intent_id FROM payments WHERE attempt_key = $1", url.split("/")[-2]
        )
        statuses.append((await asyncio.to_thread(api.v1.payment_intents.retrieve, intent_id)).status)
    assert sorted(statuses) == ["canceled", "succeeded"]
    at_stripe = await asyncio.to_thread(api.v1.invoices.retrieve, invoice.id)
    assert (at_stripe.amount_paid, at_stripe.amount_remaining, at_stripe.status) == (19400, 0, "paid")


async def test_two_workspaces_on_one_account_copy_an_invoice_once(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """South connects North's Stripe account too: an invoice already North's is not copied again (no 500, no
    retry storm): Stripe invoices name no workspace, the first to copy it keeps it."""
    north, south = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    south.stripe = north.stripe
    secret = await connected(south, conn)
    outcome = await deliver(client, south, secret, "invoice.updated", invoice.id)
    assert outcome.startswith("not copied") and "another workspace" in outcome
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE stripe_invoice_id = $1", invoice.id) == 1


async def test_stripes_amount_remaining_is_what_is_due(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str, settle: Any
) -> None:
    """A credit note (or the customer's credit balance) lowers Stripe's amount remaining, not the total: the
    portal asks for Stripe's figure, never total minus paid."""
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    row = await imported(conn, invoice.id)
    assert row is not None
    await conn.execute("UPDATE stripe_invoices SET amount_remaining = 10000 WHERE invoice_id = $1", row["id"])
    await conn.execute("UPDATE invoices SET version = version + 1 WHERE id = $1", row["id"])
    await settle()
    page = BeautifulSoup((await client.get(f"/i/{await link_of(conn, invoice.id)}")).text, "html.parser")
    assert page.select_one(".amount-due-value").get_text() == "€100.00"
    assert page.find(id="payment-amount")["value"] == "100.00"


async def test_an_event_and_a_backfill_copying_one_new_invoice_at_once_make_one_copy(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    invoice = await asyncio.to_thread(make_invoice, sdk(stripe_base, north))
    account = await StripeAccounts(settings, BOX).own(conn, north.ws.id)
    assert account is not None
    pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=4, init=init_connection)
    try:
        outcomes = await asyncio.gather(*(sync_invoice(pool, account, invoice.id) for _ in range(3)))
    finally:
        await pool.close()
    assert sorted(outcomes) == ["created", "unchanged", "unchanged"]
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE stripe_invoice_id = $1", invoice.id) == 1


async def test_a_stripe_number_the_workspace_already_uses_is_refused_with_the_reason(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    secret = await connected(north, conn)
    invoice = await asyncio.to_thread(make_invoice, sdk(stripe_base, north))
    own = await factories.invoice(conn, ws=north.ws)
    await conn.execute("UPDATE invoices SET number = $2 WHERE id = $1", own.invoice.id, invoice.number)
    outcome = await deliver(client, north, secret, "invoice.finalized", invoice.id)
    assert outcome.startswith("not copied") and "already used" in outcome
    assert await imported(conn, invoice.id) is None


async def test_a_backfill_resumes_past_a_cursor_stripe_no_longer_has(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    api = sdk(stripe_base, north)
    await asyncio.to_thread(lambda: [make_invoice(api) for _ in range(2)])
    # An interrupted run whose cursor was a draft deleted since.
    await conn.execute(
        "INSERT INTO stripe_syncs (workspace_id, cursor, created) VALUES ($1, 'in_deleted_since', 0)", north.ws.id
    )
    account = await StripeAccounts(settings, BOX).own(conn, north.ws.id)
    assert account is not None
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=3, init=init_connection)
    try:
        sync = await backfill(pool, account)
    finally:
        await pool.close()
    assert sync.created == 2 and sync.finished_at is not None


async def test_payments_made_in_stripe_have_receipts_and_the_portals_own_are_not_copied_twice(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str,
    settings: Settings, mailbox: Mailbox, settle: Any,
) -> None:  # fmt: skip
    """€50.00 paid in Stripe itself (a card charged there), then the rest by card in the portal: two receipts, the
    first with the card Stripe charged, each mailed once; the portal's own payment, which Stripe also lists among
    the invoice's payments, is not copied a second time however often the invoice's events come."""
    north, _ = teams
    invoice = await one_imported(client, conn, stripe_base, north)
    connection = await select_stripe_connection(conn, north.ws.id)
    assert connection is not None
    secret = opened(connection.webhook_secret)
    api = sdk(stripe_base, north)
    in_stripe = await asyncio.to_thread(paid_intent, api, 5000)
    await asyncio.to_thread(api.v1.invoices.attach_payment, invoice.id, {"payment_intent": in_stripe.id})
    assert await deliver(client, north, secret, "invoice.updated", invoice.id) == "updated"
    assert await deliver(client, north, secret, "invoice.updated", invoice.id) == "unchanged"

    token = await link_of(conn, invoice.id)
    link = SimpleNamespace(url=f"/i/{token}")
    await pay_by_card_in_portal(client, conn, stripe_base, north, secret, token, "144.00")
    for kind in ("invoice.paid", "invoice.payment_succeeded", "invoice.updated"):
        await deliver(client, north, secret, kind, invoice.id)
    kept = await conn.fetch(
        """
        SELECT p.amount, p.method, p.card_brand, p.card_last4, p.stripe_invoice_payment_id IS NOT NULL AS from_stripe
        FROM payments p JOIN invoices i ON i.id = p.invoice_id
        WHERE i.stripe_invoice_id = $1 AND p.status = 'succeeded' ORDER BY p.succeeded_at, p.id
        """,
        invoice.id,
    )
    assert [tuple(row) for row in kept] == [
        (5000, "card", "visa", "4242", True),
        (14400, "card", "Visa", "4242", False),  # the portal's own, once
    ]

    await settle()
    page = BeautifulSoup((await client.get(link.url)).text, "html.parser")
    receipts = [(str(a["data-receipt"]), str(a["href"])) for a in page.select(".payments a[data-receipt]")]
    assert [number for number, _ in receipts] == [f"{invoice.number}-R1", f"{invoice.number}-R2"]
    first = BeautifulSoup((await client.get(receipts[0][1])).text, "html.parser").get_text(" ", strip=True)
    assert "€50.00" in first and "Visa •••• 4242" in first

    templates = build_templates(settings.templates_dir, settings.static_dir, static_path=lambda path: f"/static/{path}")
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2, init=init_connection)
    try:
        mailed = await mail_receipts(
            pool, Mailer(settings.smtp_url, settings.mail_from), Letters(templates),
            lambda token, payment_id: f"https://portal.example/i/{token}/receipts/{payment_id}", datetime.now(UTC),
        )  # fmt: skip
    finally:
        await pool.close()
    assert mailed == 2
    subject, _ = await mailbox.text_of("ap@globex.example", 1)
    assert subject.startswith(f"Receipt {invoice.number}-R1 from ")

    # A payment years old when first copied (a backfill): listed with a receipt, but never mailed now.
    invoice_id = await conn.fetchval("SELECT id FROM invoices WHERE stripe_invoice_id = $1", invoice.id)
    long_ago = datetime(2024, 3, 1, tzinfo=UTC)
    old = ImportedPayment("inpay_old", 1000, long_ago, None, "other", "", "")
    await keep_imported_payments(conn, invoice_id, "EUR", north.stripe["id"], (old,))
    assert (
        await conn.fetchval("SELECT receipt_mailed_at FROM payments WHERE stripe_invoice_payment_id = 'inpay_old'")
        == long_ago
    )
