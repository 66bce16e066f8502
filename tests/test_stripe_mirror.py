"""Portal → Stripe (issue 16): with *Also issue invoices in Stripe* on, an invoice sent from the console is issued in
the workspace's Stripe account (our number, its lines, our VAT to the cent, finalized, never mailed by Stripe), its
void, write-off and payments follow there, and when Stripe is down at Send the portal issues it all the same and
the outbox gets it into Stripe once Stripe answers. Real SDK against the Stripe double, real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from db.invoices import InvoiceLine
from db.rows import init_connection
from db.stripe_mirrors import retry_now, take_next_task
from tests import factories
from tests.conftest import AppVariant, asgi_client
from tests.console import sign_in
from tests.live import free_port
from tests.queries import select_invoice
from tests.sealed import BOX
from tests.test_console_builder import HX, draft_data, new_customer, new_draft
from tests.test_payment_flow import confirm, start, step_urls
from tests.test_stripe_invoice_import import connected, deliver, sdk
from tests.test_stripe_workspaces import Team, card_token, post_event
from tests.test_stripe_workspaces import teams as teams  # the fixture
from web.invoices.totals import compute_totals
from web.settings import Settings
from web.stripe.accounts import StripeAccounts
from web.stripe_mirror.amounts import spread_taxes
from web.stripe_mirror.worker import run_waiting

# Two 0.03 lines at 19 %: Stripe's per-line rounding would make 0.01 + 0.01 of VAT, the document's per-rate
# rounding 0.01 (19 % of 0.06); half an hour makes a quantity Stripe cannot hold as an integer; 20 % is
# Decimal("2E+1") once normalized.
LINES = [("Design", "10", "85.00", "19"), ("Small part", "1", "0.03", "19"), ("Small part", "1", "0.03", "19"),
         ("Workshop", "0.5", "1200,50", "19"), ("Hosting", "1", "20", "7"),
         ("Licence", "2", "15.00", "20")]  # fmt: skip


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    opened_pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=3, init=init_connection)
    yield opened_pool
    await opened_pool.close()


async def issuing_in_stripe(team: Team, conn: asyncpg.Connection) -> str:
    """Connect the team's account and turn the setting on; its webhook secret."""
    secret = await connected(team, conn)
    answer = await team.console.post(
        "/console/settings/stripe/issue-invoices", data={"csrf": team.csrf, "issue_invoices": "on"}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("saved=stripe-issue-on")
    return secret


async def send(console: httpx.AsyncClient, csrf: str, lines: list[tuple[str, str, str, str]] = LINES) -> int:
    customer_id = await new_customer(console, csrf)
    invoice_id = await new_draft(console, csrf, customer_id)
    sent = await console.post(
        f"/console/invoices/{invoice_id}/draft", data=draft_data(csrf, customer_id, lines, "send"), headers=HX
    )
    assert sent.status_code == 204, sent.text
    return invoice_id


async def mirror_of(conn: asyncpg.Connection, invoice_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM stripe_mirrors WHERE invoice_id = $1", invoice_id)
    assert row is not None
    return row


async def in_stripe(base: str, team: Team, conn: asyncpg.Connection, invoice_id: int) -> Any:
    stripe_id = (await mirror_of(conn, invoice_id))["stripe_invoice_id"]
    assert stripe_id is not None
    return await asyncio.to_thread(sdk(base, team).v1.invoices.retrieve, stripe_id)


async def issued(conn: asyncpg.Connection, invoice_id: int) -> factories.Issued:
    invoice = await select_invoice(conn, invoice_id)
    token = await conn.fetchval("SELECT token FROM portal_links WHERE invoice_id = $1", invoice_id)
    assert invoice is not None
    return factories.Issued(invoice, token, None)  # type: ignore[arg-type]


async def test_a_sent_invoice_is_issued_in_stripe_with_our_number_lines_and_vat_to_the_cent(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    secret = await issuing_in_stripe(north, conn)
    invoice_id = await send(north.console, north.csrf)

    invoice = await select_invoice(conn, invoice_id)
    assert invoice is not None and invoice.number is not None
    lines = await conn.fetch(
        "SELECT quantity, unit_price, tax_rate FROM invoice_lines WHERE invoice_id = $1", invoice_id
    )
    totals = compute_totals(
        [factories.line("x", str(r["quantity"]), r["unit_price"], str(r["tax_rate"])) for r in lines], "EUR"
    )
    per_line = sum(
        int((Decimal(net) * r["tax_rate"] / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for net, r in zip(totals.line_nets, lines, strict=True)
    )
    assert per_line != totals.tax  # Stripe's own rounding would have disagreed with the document

    found = await in_stripe(stripe_base, north, conn, invoice_id)
    assert found.status == "open" and found.number == invoice.number and found.collection_method == "send_invoice"
    assert found.auto_advance is False  # the portal mails the customer; Stripe must not
    assert (found.total, found.total - found.total_excluding_tax, found.amount_remaining) == (
        totals.total, totals.tax, totals.total
    )  # fmt: skip
    assert found.metadata["portal_invoice_id"] == str(invoice_id)
    stripe_lines = found.lines.data
    assert [line.description.split(" (")[0] for line in stripe_lines] == [line[0] for line in LINES]
    assert (stripe_lines[0].quantity, stripe_lines[0].amount) == (10, 85000)
    assert stripe_lines[3].amount == totals.line_nets[3] and "0.5 ×" in stripe_lines[3].description
    # Each rate's VAT is the document's: the rounding rest sits on the rate's largest line.
    for group in totals.tax_groups:
        of_rate = [line for line, r in zip(stripe_lines, lines, strict=True) if r["tax_rate"].normalize() == group.rate]
        assert sum(line.taxes[0].amount for line in of_rate) == group.tax
    rate = await asyncio.to_thread(
        sdk(stripe_base, north).v1.tax_rates.retrieve, stripe_lines[5].taxes[0].tax_rate_details.tax_rate
    )
    assert Decimal(str(rate.percentage)) == 20  # sent as "20", never "2E+1"
    customer = await asyncio.to_thread(sdk(stripe_base, north).v1.customers.retrieve, found.customer)
    assert customer.email == "ap@customer.example" and customer.name == "Customer SARL"

    mirror = await mirror_of(conn, invoice_id)
    assert (mirror["stripe_status"], mirror["stripe_number"], mirror["amount_remaining"]) == (
        "open", invoice.number, totals.total
    )  # fmt: skip
    assert mirror["hosted_invoice_url"] == found.hosted_invoice_url
    page = await north.console.get(f"/console/invoices/{invoice_id}")
    assert "In Stripe" in page.text and found.id in page.text and "Waiting for Stripe" not in page.text

    # Stripe's events about it are followed, never imported as an invoice made in Stripe.
    count = await conn.fetchval("SELECT count(*) FROM invoices WHERE workspace_id = $1", north.ws.id)
    assert await deliver(client, north, secret, "invoice.finalized", found.id) == "mirror unchanged"
    assert await conn.fetchval("SELECT count(*) FROM invoices WHERE workspace_id = $1", north.ws.id) == count

    # The same customer's next invoice reuses its Stripe customer.
    second = await send(north.console, north.csrf, LINES[:1])
    assert (await in_stripe(stripe_base, north, conn, second)).number != found.number


async def test_void_and_write_off_reach_stripe_and_the_setting_is_off_by_default(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, south = teams
    await connected(south, conn)
    plain = await send(south.console, south.csrf, LINES[:1])
    assert await conn.fetchval("SELECT count(*) FROM stripe_mirrors WHERE invoice_id = $1", plain) == 0

    await issuing_in_stripe(north, conn)
    voided, written_off = await send(north.console, north.csrf), await send(north.console, north.csrf)
    answer = await north.console.post(
        f"/console/invoices/{voided}/void", data={"csrf": north.csrf, "reason": "Wrong customer"}
    )
    assert answer.status_code == 303
    answer = await north.console.post(f"/console/invoices/{written_off}/uncollectible", data={"csrf": north.csrf})
    assert answer.status_code == 303
    assert (await in_stripe(stripe_base, north, conn, voided)).status == "void"
    assert (await in_stripe(stripe_base, north, conn, written_off)).status == "uncollectible"
    assert (await mirror_of(conn, voided))["stripe_status"] == "void"


async def test_payments_in_the_portal_are_recorded_on_the_stripe_invoice(
    teams: tuple[Team, Team],
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    stripe_base: str,
    settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    north, _ = teams
    secret = await issuing_in_stripe(north, conn)
    invoice_id = await send(north.console, north.csrf, [("Design", "1", "100.00", "19")])  # 119.00

    bank = await north.console.post(
        f"/console/invoices/{invoice_id}/payments",
        data={"csrf": north.csrf, "amount": "19.00", "method": "bank_transfer", "reference": "SEPA 42"},
    )
    assert bank.status_code == 303
    assert (await in_stripe(stripe_base, north, conn, invoice_id)).amount_remaining == 10000

    # The customer pays 40.00 by card in the portal: that PaymentIntent is attached to the Stripe invoice.
    confirm_url, _ = step_urls(await start(client, await issued(conn, invoice_id), "40.00"))
    done = await confirm(client, confirm_url, await card_token(stripe_base, north.stripe["publishable_key"]))
    assert done.headers["X-Payment-Step"] == "done", done.text
    # Stripe's event makes it paid (the webhook is the source of truth); that queues its Stripe step, which the
    # worker's next round takes.
    intent_id = await conn.fetchval("SELECT stripe_payment_intent_id FROM payments WHERE method = 'card'")
    intent = (await asyncio.to_thread(sdk(stripe_base, north).v1.payment_intents.retrieve, intent_id)).to_dict()
    applied = await post_event(client, f"/webhooks/stripe/{north.ws.id}", "payment_intent.succeeded", intent, secret)
    assert applied.json()["outcome"] == "applied"
    assert await run_waiting(pool, StripeAccounts(settings, BOX)) == 1
    found = await in_stripe(stripe_base, north, conn, invoice_id)
    assert found.amount_remaining == 6000 and found.status == "open"
    payments = await asyncio.to_thread(sdk(stripe_base, north).v1.invoice_payments.list, {"invoice": found.id})
    kinds = sorted(payment.payment.type for payment in payments.data)
    assert kinds == ["payment_intent", "payment_record"]

    rest = await north.console.post(
        f"/console/invoices/{invoice_id}/payments",
        data={"csrf": north.csrf, "amount": "60.00", "method": "bank_transfer", "reference": "SEPA 43"},
    )
    assert rest.status_code == 303
    paid = await in_stripe(stripe_base, north, conn, invoice_id)
    assert (paid.status, paid.amount_remaining, paid.amount_paid) == ("paid", 0, 11900)
    assert await run_waiting(pool, StripeAccounts(settings, BOX)) == 0  # nothing was left waiting


async def test_stripe_down_at_send_then_recovered(
    teams: tuple[Team, Team],
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    stripe_base: str,
    settings: Settings,
    pool: asyncpg.Pool,
    app_variant: AppVariant,
    clock: Any,
) -> None:
    north, _ = teams
    await issuing_in_stripe(north, conn)
    async with app_variant(stripe_api_base=f"http://127.0.0.1:{free_port()}") as down:
        console = asgi_client(down)
        csrf = await sign_in(console, conn, clock, "billing@north.example")
        invoice_id = await send(console, csrf)
        # Voided while Stripe is still away: it waits behind the issue, in order.
        answer = await console.post(f"/console/invoices/{invoice_id}/void", data={"csrf": csrf, "reason": "Typo"})
        assert answer.status_code == 303
        page = await console.get(f"/console/invoices/{invoice_id}")
        await console.aclose()
    # Issued in the portal all the same: its link works.
    portal = await client.get((await issued(conn, invoice_id)).url)
    assert portal.status_code == 200
    assert "Waiting for Stripe" in page.text and "Stripe did not answer" in page.text
    mirror = await mirror_of(conn, invoice_id)
    assert mirror["stripe_status"] == "pending" and mirror["stripe_invoice_id"] is None
    steps = await conn.fetch(
        "SELECT kind, attempts, done_at FROM stripe_mirror_tasks WHERE invoice_id = $1 ORDER BY id", invoice_id
    )
    assert [(s["kind"], s["done_at"]) for s in steps] == [("issue", None), ("void", None)]
    assert steps[0]["attempts"] == 1 and steps[1]["attempts"] == 0  # the void never went before the issue

    accounts = StripeAccounts(settings, BOX)
    assert await run_waiting(pool, accounts) == 0  # not due yet: the retry waits
    await conn.execute("UPDATE stripe_mirror_tasks SET next_attempt_at = now() WHERE invoice_id = $1", invoice_id)
    assert await run_waiting(pool, accounts) == 2  # Stripe is back: issued, then voided
    found = await in_stripe(stripe_base, north, conn, invoice_id)
    assert found.status == "void" and found.metadata["portal_invoice_id"] == str(invoice_id)
    listed = await asyncio.to_thread(sdk(stripe_base, north).v1.invoices.list, {"customer": found.customer})
    assert len(listed.data) == 1  # one Stripe invoice, however many tries


async def test_a_retry_after_a_lost_answer_finishes_the_same_stripe_invoice(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, settings: Settings, pool: asyncpg.Pool
) -> None:
    """Stripe made the draft and one item, then the worker died before saving anything: the retry finds that
    draft by our id, adds only the missing items and finalizes it."""
    north, _ = teams
    await issuing_in_stripe(north, conn)
    await conn.execute("UPDATE stripe_connections SET issue_invoices = false WHERE workspace_id = $1", north.ws.id)
    invoice_id = await send(north.console, north.csrf, LINES[:2])
    invoice = await select_invoice(conn, invoice_id)
    assert invoice is not None
    api = sdk(stripe_base, north)
    customer = await asyncio.to_thread(api.v1.customers.create, {"name": "Customer SARL"})
    draft = await asyncio.to_thread(
        api.v1.invoices.create,
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30, "currency": "eur",
         "metadata": {"portal_invoice_id": str(invoice_id), "portal_workspace_id": str(north.ws.id)}},
    )  # fmt: skip
    first_line = await conn.fetchval("SELECT min(id) FROM invoice_lines WHERE invoice_id = $1", invoice_id)
    await asyncio.to_thread(
        api.v1.invoice_items.create,
        {"customer": customer.id, "invoice": draft.id, "currency": "eur", "quantity": 10, "unit_amount_decimal": "8500",
         "description": "Design", "metadata": {"portal_line_id": str(first_line)}},
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO stripe_mirrors (invoice_id, workspace_id, account_id, stripe_customer_id) VALUES ($1, $2, $3, $4)",
        invoice_id, north.ws.id, north.stripe["id"], customer.id,
    )  # fmt: skip
    # The try that made them died (its lease ran out): this is the second.
    await conn.execute(
        "INSERT INTO stripe_mirror_tasks (invoice_id, kind, attempts) VALUES ($1, 'issue', 1)", invoice_id
    )
    assert await run_waiting(pool, StripeAccounts(settings, BOX)) == 1
    found = await asyncio.to_thread(api.v1.invoices.retrieve, draft.id)
    assert found.status == "open" and len(found.lines.data) == 2 and found.number == invoice.number
    assert (await mirror_of(conn, invoice_id))["stripe_invoice_id"] == draft.id


async def test_a_refusal_stops_the_step_with_stripes_reason_until_retried(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    await issuing_in_stripe(north, conn)
    api = sdk(stripe_base, north)
    # Someone already used the portal's next number in Stripe by hand.
    year_number = f"INV-{date.today().year}-0001"
    customer = await asyncio.to_thread(api.v1.customers.create, {"name": "Someone"})
    taken = await asyncio.to_thread(
        api.v1.invoices.create,
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 3, "number": year_number},
    )
    invoice_id = await send(north.console, north.csrf, LINES[:1])
    page = await north.console.get(f"/console/invoices/{invoice_id}")
    assert "stopped" in page.text and "Stripe refused" in page.text and "Retry now" in page.text
    step = await conn.fetchrow("SELECT stuck, attempts FROM stripe_mirror_tasks WHERE invoice_id = $1", invoice_id)
    assert step["stuck"] and step["attempts"] == 1

    await asyncio.to_thread(api.v1.invoices.delete, taken.id)  # fixed in Stripe; a person retries
    retried = await north.console.post(f"/console/invoices/{invoice_id}/stripe/retry", data={"csrf": north.csrf})
    assert retried.status_code == 303 and retried.headers["location"].endswith("done=stripe_retry")
    assert (await in_stripe(stripe_base, north, conn, invoice_id)).number == year_number
    assert (await mirror_of(conn, invoice_id))["stripe_status"] == "open"


async def test_the_setting_needs_a_connected_account(teams: tuple[Team, Team]) -> None:
    north, _ = teams
    answer = await north.console.post(
        "/console/settings/stripe/issue-invoices", data={"csrf": north.csrf, "issue_invoices": "on"}
    )
    assert answer.status_code == 409 and "Connect Stripe first" in answer.text


async def test_two_workers_never_take_an_invoices_steps_out_of_order_and_retry_leaves_a_running_step(
    teams: tuple[Team, Team], conn: asyncpg.Connection, settings: Settings
) -> None:
    north, _ = teams
    await issuing_in_stripe(north, conn)
    await conn.execute("UPDATE stripe_connections SET issue_invoices = false WHERE workspace_id = $1", north.ws.id)
    invoice_id = await send(north.console, north.csrf, LINES[:1])
    await conn.execute(
        "INSERT INTO stripe_mirrors (invoice_id, workspace_id, account_id) VALUES ($1, $2, $3)",
        invoice_id, north.ws.id, north.stripe["id"],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO stripe_mirror_tasks (invoice_id, kind) VALUES ($1, 'issue'), ($1, 'void')", invoice_id
    )
    first = await asyncpg.connect(settings.database_url)
    second = await asyncpg.connect(settings.database_url)
    await init_connection(first)
    await init_connection(second)
    try:
        async with first.transaction():
            taken = await take_next_task(first, invoice_id)
            assert taken is not None and taken.kind == "issue"
            assert await take_next_task(second, invoice_id) is None  # not the void behind it
        assert await take_next_task(second, invoice_id) is None  # the issue is running (leased)
        assert not await retry_now(second, invoice_id)  # a running step is its worker's
        assert await second.fetchval("SELECT attempts FROM stripe_mirror_tasks WHERE id = $1", taken.id) == 1
    finally:
        await first.close()
        await second.close()


async def test_a_payment_stripe_cannot_take_stops_with_the_reason_and_can_be_given_up(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    """The customer paid on Stripe's own page, then billing records a bank transfer too: Stripe's invoice is paid,
    so the transfer cannot go there. It stops with that reason (never marked done in silence)."""
    north, _ = teams
    await issuing_in_stripe(north, conn)
    invoice_id = await send(north.console, north.csrf, [("Design", "1", "100.00", "19")])
    found = await in_stripe(stripe_base, north, conn, invoice_id)
    await asyncio.to_thread(sdk(stripe_base, north).v1.invoices.pay, found.id, {"paid_out_of_band": True})
    recorded = await north.console.post(
        f"/console/invoices/{invoice_id}/payments",
        data={"csrf": north.csrf, "amount": "119.00", "method": "bank_transfer", "reference": "SEPA 7"},
    )
    assert recorded.status_code == 303
    step = await conn.fetchrow("SELECT stuck, last_error FROM stripe_mirror_tasks WHERE kind = 'payment'")
    assert step["stuck"] and "is paid in Stripe" in step["last_error"]
    given_up = await north.console.post(f"/console/invoices/{invoice_id}/stripe/give-up", data={"csrf": north.csrf})
    assert given_up.status_code == 303 and given_up.headers["location"].endswith("done=stripe_given_up")
    assert await conn.fetchval("SELECT count(*) FROM stripe_mirror_tasks WHERE done_at IS NULL") == 0
    page = await north.console.get(f"/console/invoices/{invoice_id}")
    assert "Stripe steps given up" in page.text and "Waiting for Stripe" not in page.text


def test_each_rates_vat_is_spread_without_flipping_a_sign_and_in_the_currencys_steps() -> None:
    six_cents = [InvoiceLine(i, 1, i, "Part", Decimal(1), 1, Decimal(50)) for i in range(6)]
    totals = compute_totals(six_cents, "EUR")
    shares = spread_taxes(six_cents, totals, "EUR")
    assert sum(shares) == totals.tax == 3 and min(shares) >= 0  # not [-2, 1, 1, 1, 1, 1]
    kronur = [InvoiceLine(1, 1, 1, "A", Decimal(3), 3300, Decimal("24.5")),
              InvoiceLine(2, 1, 2, "B", Decimal(1), 4400, Decimal("24.5"))]  # fmt: skip
    totals = compute_totals(kronur, "ISK")
    shares = spread_taxes(kronur, totals, "ISK")
    assert sum(shares) == totals.tax and all(share % 100 == 0 for share in shares)
