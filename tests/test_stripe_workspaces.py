"""Each workspace connects its own Stripe account (console → Settings), with the real SDK against the Stripe double
holding several accounts: connecting (good key, bad key, revoked key, wrong mode, a restricted key short of a
permission), payments and webhooks kept apart in both directions, disconnecting, and the deployment's keys from
the environment still serving the workspaces that never connected their own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from bs4 import BeautifulSoup

from db.payments import insert_card_attempt, set_payment_intent
from db.stripe_connections import select_stripe_connection
from db.workspaces import Workspace
from tests import factories
from tests.conftest import WEBHOOK_SECRET, asgi_client
from tests.console import account as staff_account
from tests.console import errors_of, sign_in
from tests.live import free_port
from tests.sealed import opened
from tests.test_payment_flow import VISA, confirm, start, step_urls
from tests.test_webhooks import event, signed
from web.dev.local_stripe import add_restricted_key, create_account, flush, revoke_key
from web.stripe_sync.events import HANDLED_EVENTS

CONNECT = "/console/settings/stripe/connect"
DISCONNECT = "/console/settings/stripe/disconnect"


@dataclass
class Team:
    """A workspace, its Stripe account in the double, and a billing teammate signed in to the console."""

    ws: Workspace
    stripe: dict[str, Any]  # the double's account: id, secret_key, publishable_key
    console: httpx.AsyncClient
    csrf: str

    async def connect(self, secret: str | None = None, publishable: str | None = None) -> httpx.Response:
        data = {
            "csrf": self.csrf,
            "secret_key": self.stripe["secret_key"] if secret is None else secret,
            "publishable_key": self.stripe["publishable_key"] if publishable is None else publishable,
        }
        return await self.console.post(CONNECT, data=data)

    def api(self, base: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {self.stripe['secret_key']}"})


@pytest.fixture
async def teams(
    app_manager: LifespanManager, conn: asyncpg.Connection, clock: Any, stripe_base: str
) -> AsyncIterator[tuple[Team, Team]]:
    flush(stripe_base)
    made = []
    for slug in ("north", "south"):
        ws = await factories.workspace(conn, slug=slug, legal_name=f"{slug.title()} Trading Ltd")
        staff = await staff_account(conn, ws)
        console = asgi_client(app_manager)
        csrf = await sign_in(console, conn, clock, staff.email)
        made.append(Team(ws, create_account(stripe_base, f"{slug.title()} Trading"), console, csrf))
    yield made[0], made[1]
    for team in made:
        await team.console.aclose()


def page_of(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def endpoints(base: str, team: Team) -> list[dict[str, Any]]:
    async with team.api(base) as api:
        listed = await api.get("/v1/webhook_endpoints", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


async def card_token(base: str, publishable_key: str) -> str:
    """What Stripe.js does with the card form, with the workspace's own publishable key."""
    card = {"card[number]": VISA, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123"}
    async with httpx.AsyncClient(base_url=base) as api:
        response = await api.post("/v1/tokens", data={**card, "key": publishable_key})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def pay_in_full(client: httpx.AsyncClient, base: str, issued: factories.Issued, publishable_key: str) -> str:
    """A customer pays the whole invoice by card; the attempt key of the payment."""
    confirm_url, _ = step_urls(await start(client, issued, "172.50"))
    done = await confirm(client, confirm_url, await card_token(base, publishable_key))
    assert done.headers["X-Payment-Step"] == "done", done.text
    return confirm_url.split("/")[-2]


async def post_event(
    client: httpx.AsyncClient, path: str, kind: str, obj: dict[str, Any], secret: str
) -> httpx.Response:
    body = json.dumps(event(kind, obj)).encode()
    return await client.post(path, content=body, headers=signed(body, secret))


async def test_connect_checks_the_keys_creates_the_endpoint_and_shows_no_secret(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    answer = await north.connect()
    assert answer.status_code == 303, answer.text
    settings_page = await north.console.get(answer.headers["location"])
    text = settings_page.text
    assert "Stripe is connected" in text and north.stripe["id"] in text and "North Trading" in text
    assert "sk_test_…" + north.stripe["secret_key"][-4:] in page_of(settings_page).get_text()
    assert north.stripe["secret_key"] not in text and "whsec_" not in text
    facts = page_of(settings_page).find(attrs={"data-stripe": "connected"})
    assert facts is not None and "Test" in facts.get_text()
    assert facts.find(attrs={"data-endpoint-state": True}).get_text().startswith("Enabled")
    assert facts.find(attrs={"data-last-event": True}).get_text() == "None yet"

    # The endpoint was created in the workspace's own account, for the events the portal handles.
    [endpoint] = await endpoints(stripe_base, north)
    assert endpoint["url"].endswith(f"/webhooks/stripe/{north.ws.id}")
    assert sorted(endpoint["enabled_events"]) == sorted(HANDLED_EVENTS)
    connection = await select_stripe_connection(conn, north.ws.id)
    assert connection is not None and connection.webhook_endpoint_id == endpoint["id"]
    assert connection.account_id == north.stripe["id"] and not connection.livemode
    # Sealed at rest: the key and the signing secret open only with SECRET_KEY.
    assert "sk_" not in connection.secret_key and opened(connection.secret_key) == north.stripe["secret_key"]
    assert "whsec_" not in connection.webhook_secret and opened(connection.webhook_secret).startswith("whsec_")


@pytest.mark.parametrize(
    ("case", "field", "reason"),
    [
        ("unknown", "secret_key", "Stripe did not accept this secret key"),
        ("revoked", "secret_key", "Stripe did not accept this secret key"),
        ("modes", "publishable_key", "One key is for test mode and the other for live mode"),
        ("publishable-as-secret", "secret_key", "This is a publishable key"),
        ("garbage", "secret_key", "This is not a Stripe secret key"),
        ("restricted-without-webhooks", "secret_key", "This restricted key lacks a permission"),
        ("restricted-without-payments", "secret_key", "This restricted key lacks a permission"),
        ("made-up-publishable", "publishable_key", "Stripe did not accept this publishable key"),
        ("other-accounts-publishable", "publishable_key", "belongs to another Stripe account"),
        ("secret-in-publishable", "publishable_key", "This is a secret key"),
    ],
)
async def test_connect_refuses_bad_keys_with_a_reason_and_saves_nothing(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str, case: str, field: str, reason: str
) -> None:
    north, _ = teams
    secret, publishable = north.stripe["secret_key"], north.stripe["publishable_key"]
    if case == "unknown":
        secret = "sk_test_" + "Q" * 24
    elif case == "revoked":
        revoke_key(stripe_base, secret)
    elif case == "modes":
        publishable = "pk_live_" + publishable.removeprefix("pk_test_")
    elif case == "publishable-as-secret":
        secret = publishable
    elif case == "garbage":
        secret = "my password"
    elif case == "restricted-without-webhooks":
        secret = add_restricted_key(
            stripe_base, north.stripe["id"], ["account", "payment_intents", "refunds", "tokens"]
        )
    elif case == "restricted-without-payments":
        secret = add_restricted_key(stripe_base, north.stripe["id"], ["account", "tokens", "webhook_endpoints"])
    elif case == "made-up-publishable":
        publishable = "pk_test_" + "Z" * 24
    elif case == "other-accounts-publishable":
        publishable = create_account(stripe_base, "Someone Else")["publishable_key"]
    else:
        publishable = secret  # pasted in the wrong field
    answer = await north.connect(secret, publishable)
    assert answer.status_code == 422, answer.text
    assert any(reason in error for error in errors_of(answer.text)), errors_of(answer.text)
    form = page_of(answer)
    assert form.find(id=field)["aria-invalid"] == "true"
    # The publishable key is kept for the next try; a secret key is never sent back, from either field.
    shown = form.find(id="publishable_key")["value"]
    assert shown == ("" if case == "secret-in-publishable" else publishable)
    assert form.find(id="secret_key").get("value", "") == ""
    assert secret not in answer.text or case == "publishable-as-secret"
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 0
    if case.startswith("restricted"):
        assert await endpoints(stripe_base, north) == []  # the account check passed; nothing was created


async def test_a_restricted_key_with_the_permissions_connects(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, _ = teams
    needed = ["account", "payment_intents", "refunds", "webhook_endpoints", "tokens"]
    restricted = add_restricted_key(stripe_base, north.stripe["id"], needed)
    assert (await north.connect(restricted)).status_code == 303
    connection = await select_stripe_connection(conn, north.ws.id)
    assert (
        connection is not None and connection.key_kind == "restricted" and opened(connection.secret_key) == restricted
    )
    shown = page_of(await north.console.get("/console/settings")).get_text()
    assert "Restricted key rk_test_…" + restricted[-4:] in shown


async def test_payments_and_webhooks_stay_with_their_workspace(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    north, south = teams
    for team in teams:
        assert (await team.connect()).status_code == 303
    north_invoice = await factories.invoice(conn, ws=north.ws)
    south_invoice = await factories.invoice(conn, ws=south.ws)

    # Each page loads its own workspace's publishable key.
    for issued, team in ((north_invoice, north), (south_invoice, south)):
        card = page_of(await client.get(issued.url)).find(id="payment")
        assert card is not None and card.find("form") is not None
        started = await start(client, issued, "10.00")
        assert page_of(started).find(id="payment")["data-stripe-key"] == team.stripe["publishable_key"]

    north_attempt = await pay_in_full(client, stripe_base, north_invoice, north.stripe["publishable_key"])
    intent_id, account_id = (
        await conn.fetchrow(
            "SELECT stripe_payment_intent_id, stripe_account_id FROM payments WHERE attempt_key = $1", north_attempt
        )
    ).values()
    assert account_id == north.stripe["id"]
    # The money moved in North's account, which South's key cannot even see.
    async with north.api(stripe_base) as api:
        intent = (await api.get(f"/v1/payment_intents/{intent_id}")).json()
        assert intent["status"] == "succeeded"
    async with south.api(stripe_base) as api:
        assert (await api.get(f"/v1/payment_intents/{intent_id}")).status_code == 404

    secrets = {}
    for team in teams:
        connection = await select_stripe_connection(conn, team.ws.id)
        assert connection is not None
        secrets[team.ws.id] = opened(connection.webhook_secret)
    north_path, south_path = f"/webhooks/stripe/{north.ws.id}", f"/webhooks/stripe/{south.ws.id}"

    # North's event at South's endpoint: South's secret does not verify it.
    wrong_door = await post_event(client, south_path, "payment_intent.succeeded", intent, secrets[north.ws.id])
    assert wrong_door.status_code == 400
    # Signed by South's secret (South's account saying so): not South's payment, nothing changes.
    forged = await post_event(client, south_path, "payment_intent.succeeded", intent, secrets[south.ws.id])
    assert forged.status_code == 200 and forged.json()["outcome"] == "not ours"
    # The deployment's endpoint (the environment's account) has no say over North's own account either.
    deployment = await post_event(client, "/webhooks/stripe", "payment_intent.succeeded", intent, WEBHOOK_SECRET)
    assert deployment.status_code == 200 and deployment.json()["outcome"] == "not ours"
    assert await conn.fetchval("SELECT status FROM payments WHERE attempt_key = $1", north_attempt) != "succeeded"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", north_invoice.invoice.id) == "open"

    # At its own endpoint it is applied, once.
    applied = await post_event(client, north_path, "payment_intent.succeeded", intent, secrets[north.ws.id])
    assert applied.json()["outcome"] == "applied"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", north_invoice.invoice.id) == "paid"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", south_invoice.invoice.id) == "open"
    shown = page_of(await north.console.get("/console/settings")).find(attrs={"data-last-event": True})
    assert shown.get_text().startswith("payment_intent.succeeded")
    # South's endpoint recorded only the event its own secret verified (the one that changed nothing).
    assert await conn.fetchval("SELECT count(*) FROM stripe_events WHERE workspace_id = $1", south.ws.id) == 1

    # The other way round: South's payment, and North's endpoint cannot touch it.
    south_attempt = await pay_in_full(client, stripe_base, south_invoice, south.stripe["publishable_key"])
    south_intent_id = await conn.fetchval(
        "SELECT stripe_payment_intent_id FROM payments WHERE attempt_key = $1", south_attempt
    )
    async with south.api(stripe_base) as api:
        south_intent = (await api.get(f"/v1/payment_intents/{south_intent_id}")).json()
    crossed = await post_event(client, north_path, "payment_intent.succeeded", south_intent, secrets[north.ws.id])
    assert crossed.json()["outcome"] == "not ours"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", south_invoice.invoice.id) == "open"
    own = await post_event(client, south_path, "payment_intent.succeeded", south_intent, secrets[south.ws.id])
    assert own.json()["outcome"] == "applied"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", south_invoice.invoice.id) == "paid"


async def test_disconnect_stops_card_payment_at_once_and_removes_the_endpoint(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str, settle: Any
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    issued = await factories.invoice(conn, ws=north.ws)
    assert page_of(await client.get(issued.url)).find(id="payment").find("form") is not None
    started = await start(client, issued, "20.00")  # a customer is at the card step when it happens
    confirm_url, _ = step_urls(started)
    token = await card_token(stripe_base, north.stripe["publishable_key"])

    answer = await north.console.post(DISCONNECT, data={"csrf": north.csrf})
    assert answer.status_code == 303
    shown = await north.console.get(answer.headers["location"])
    assert "Stripe is disconnected" in shown.text and "webhook endpoint was removed" in shown.text
    assert page_of(shown).find(attrs={"data-stripe": "none"}) is not None  # no fall-back to the server's account
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 0
    assert await endpoints(stripe_base, north) == []

    await settle()
    card = page_of(await client.get(issued.url)).find(id="payment")
    assert card.find("form") is None and "not available" in card.get_text()
    assert (await start(client, issued, "20.00")).status_code == 409
    # The attempt under way was cancelled at Stripe before the key went: its customer can never be charged.
    closed = await confirm(client, confirm_url, token)
    assert closed.headers["X-Payment-Step"] == "closed" and "attempt has ended" in closed.text
    attempt = confirm_url.split("/")[-2]
    intent_id, status = (
        await conn.fetchrow("SELECT stripe_payment_intent_id, status FROM payments WHERE attempt_key = $1", attempt)
    ).values()
    assert status == "canceled"
    async with north.api(stripe_base) as api:
        assert (await api.get(f"/v1/payment_intents/{intent_id}")).json()["status"] == "canceled"
    gone = await client.post(f"/webhooks/stripe/{north.ws.id}", content=b"{}", headers=signed(b"{}"))
    assert gone.status_code == 404


async def test_environment_keys_serve_workspaces_that_never_connected(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    """The fixture's settings carry STRIPE_SECRET_KEY & co (sk_test_portal): a deployment from before this change."""
    north, south = teams
    assert (await north.connect()).status_code == 303
    issued = await factories.invoice(conn, ws=south.ws)
    started = await start(client, issued, "172.50")
    assert page_of(started).find(id="payment")["data-stripe-key"] == "pk_test_portal"
    shown = page_of(await south.console.get("/console/settings")).get_text()
    assert "Stripe account of this server" in shown
    confirm_url, _ = step_urls(started)
    response = await stripe_api.post(
        "/v1/tokens",
        data={"card[number]": VISA, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123",
              "key": "pk_test_portal"},
    )  # fmt: skip
    done = await confirm(client, confirm_url, response.json()["id"])
    assert done.headers["X-Payment-Step"] == "done"
    attempt = confirm_url.split("/")[-2]
    intent_id, account_id = (
        await conn.fetchrow(
            "SELECT stripe_payment_intent_id, stripe_account_id FROM payments WHERE attempt_key = $1", attempt
        )
    ).values()
    assert account_id is None  # made with the environment's key
    intent = (await stripe_api.get(f"/v1/payment_intents/{intent_id}")).json()
    north_connection = await select_stripe_connection(conn, north.ws.id)
    assert north_connection is not None
    north_secret = opened(north_connection.webhook_secret)
    crossed = await post_event(
        client, f"/webhooks/stripe/{north.ws.id}", "payment_intent.succeeded", intent, north_secret
    )
    assert crossed.json()["outcome"] == "not ours"
    applied = await post_event(client, "/webhooks/stripe", "payment_intent.succeeded", intent, WEBHOOK_SECRET)
    assert applied.json()["outcome"] == "applied"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", issued.invoice.id) == "paid"


async def test_connect_when_stripe_is_unreachable_says_so_and_saves_nothing(
    app_variant: Any, conn: asyncpg.Connection, clock: Any, stripe_base: str
) -> None:
    ws = await factories.workspace(conn, slug="west")
    staff = await staff_account(conn, ws)
    keys = {"secret_key": "sk_test_" + "A" * 24, "publishable_key": "pk_test_" + "A" * 24}
    down = f"http://127.0.0.1:{free_port()}"
    async with app_variant(stripe_api_base=down) as manager, asgi_client(manager) as console:
        csrf = await sign_in(console, conn, clock, staff.email)
        answer = await console.post(CONNECT, data={"csrf": csrf, **keys})
    assert answer.status_code == 503
    assert any("Stripe could not be reached" in error for error in errors_of(answer.text))
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 0


async def test_disconnect_records_a_payment_whose_event_had_not_arrived(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """The customer was charged a moment before the disconnect; the event would have come to the endpoint that
    goes with the key. What Stripe has is recorded first, so the invoice shows paid."""
    north, _ = teams
    assert (await north.connect()).status_code == 303
    issued = await factories.invoice(conn, ws=north.ws)
    attempt = await pay_in_full(client, stripe_base, issued, north.stripe["publishable_key"])
    assert await conn.fetchval("SELECT status FROM payments WHERE attempt_key = $1", attempt) == "pending"
    assert (await north.console.post(DISCONNECT, data={"csrf": north.csrf})).status_code == 303
    assert await conn.fetchval("SELECT status FROM payments WHERE attempt_key = $1", attempt) == "succeeded"
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", issued.invoice.id) == "paid"


async def test_stripe_settings_need_the_billing_role_and_the_form_token(
    teams: tuple[Team, Team], app_manager: LifespanManager, conn: asyncpg.Connection, clock: Any
) -> None:
    north, _ = teams
    support = await staff_account(conn, north.ws, role="support")
    async with asgi_client(app_manager) as desk:
        csrf = await sign_in(desk, conn, clock, support.email)
        keys = {"secret_key": north.stripe["secret_key"], "publishable_key": north.stripe["publishable_key"]}
        assert (await desk.post(CONNECT, data={"csrf": csrf, **keys})).status_code == 403
        assert (await desk.post(DISCONNECT, data={"csrf": csrf})).status_code == 403
    assert (await north.console.post(CONNECT, data=keys)).status_code == 403  # no form token
    assert (await north.console.post(DISCONNECT, data={})).status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 0


async def test_a_workspace_webhook_path_too_long_for_an_id_is_not_found(client: httpx.AsyncClient) -> None:
    for digits in (19, 4400, 6000):
        answer = await client.post("/webhooks/stripe/" + "9" * digits, content=b"{}")
        assert answer.status_code == 404


async def test_live_keys_need_the_portal_on_https(
    teams: tuple[Team, Team], conn: asyncpg.Connection, stripe_base: str
) -> None:
    """Stripe sends live events only to https: said before anything is created (the tests serve plain http)."""
    north, _ = teams
    north.stripe = create_account(stripe_base, "North Trading (live)", livemode=True)
    answer = await north.connect()
    assert answer.status_code == 422
    assert any("Live mode needs the portal on https" in error for error in errors_of(answer.text))
    assert await endpoints(stripe_base, north) == []
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 0


async def test_disconnect_waits_while_stripe_cannot_settle_payments_under_way(
    teams: tuple[Team, Team], app_variant: Any, conn: asyncpg.Connection, clock: Any, stripe_base: str
) -> None:
    north, _ = teams
    assert (await north.connect()).status_code == 303
    issued = await factories.invoice(conn, ws=north.ws)
    payment, _ = await insert_card_attempt(
        conn, invoice_id=issued.invoice.id, amount=5000, currency="EUR", attempt_key="under-way-attempt-0001",
        client="192.0.2.9", now=datetime.now(UTC), stripe_account_id=north.stripe["id"],
    )  # fmt: skip
    await set_payment_intent(conn, payment.id, "pi_under_way")
    down = f"http://127.0.0.1:{free_port()}"
    async with app_variant(stripe_api_base=down) as manager, asgi_client(manager) as console:
        csrf = await sign_in(console, conn, clock, f"billing@{north.ws.slug}.example")
        answer = await console.post(DISCONNECT, data={"csrf": csrf})
    assert answer.status_code == 503
    assert any("Stripe is still connected" in error for error in errors_of(answer.text))
    assert await conn.fetchval("SELECT count(*) FROM stripe_connections") == 1
    assert await conn.fetchval("SELECT status FROM payments WHERE id = $1", payment.id) == "pending"
