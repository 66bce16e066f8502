"""The local Stripe double with several accounts, spoken to through the real stripe SDK: each account's data,
keys, webhook endpoints and portal sessions stay its own, and it answers (and fails) the way Stripe does.

Each test makes fresh accounts, so tests do not depend on each other; the ones using the default account
(sk_test_portal, which every other test uses) flush the double first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe
from aiohttp import web

from web.dev.local_stripe import add_restricted_key, create_account, flush, register_webhook, revoke_key

Client = Callable[[str], stripe.StripeClient]


@pytest.fixture
async def sdk(stripe_base: str) -> AsyncIterator[Client]:
    """A real StripeClient for a key, against the double (closed after the test)."""
    opened: list[stripe.HTTPXClient] = []

    def make(key: str) -> stripe.StripeClient:
        http = stripe.HTTPXClient(timeout=10)
        opened.append(http)
        return stripe.StripeClient(key, base_addresses={"api": stripe_base}, max_network_retries=0, http_client=http)

    yield make
    for http in opened:
        await http.close_async()


@pytest.fixture
def new_account(stripe_base: str) -> Callable[..., dict[str, Any]]:
    def make(livemode: bool = False, **fields: Any) -> dict[str, Any]:
        return create_account(stripe_base, f"Workspace {secrets.token_hex(3)}", livemode=livemode, **fields)

    return make


@dataclass
class Receiver:
    """An HTTP server that keeps every webhook it is sent, by path."""

    url: str
    received: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict)

    def at(self, path: str) -> list[tuple[bytes, str]]:
        return self.received.setdefault(path, [])

    async def wait_for(self, path: str, count: int = 1) -> list[tuple[bytes, str]]:
        """About a second after the call that made the event; six at most."""
        for _ in range(120):
            if len(self.at(path)) >= count:
                return self.at(path)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.at(path))} webhooks, expected {count}")


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    box = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}")

    async def keep(request: web.Request) -> web.Response:
        box.at(request.path).append((await request.read(), request.headers.get("Stripe-Signature", "")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{name}", keep)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield box
    finally:
        await runner.cleanup()


def event_of(delivery: tuple[bytes, str], secret: str) -> stripe.Event:
    payload, signature = delivery
    return stripe.Webhook.construct_event(payload.decode(), signature, secret)


async def fails(call: Awaitable[Any], kind: type[stripe.StripeError]) -> Any:
    with pytest.raises(kind) as caught:
        await call
    return caught.value


async def test_accounts_keep_their_objects_apart(sdk: Client, new_account: Callable[..., dict[str, Any]]) -> None:
    a, b = new_account(), new_account(livemode=True)
    as_a, as_b = sdk(a["secret_key"]), sdk(b["secret_key"])
    customer = await as_a.v1.customers.create_async(params={"email": "ada@example.com"})
    intent = await as_a.v1.payment_intents.create_async(
        params={"amount": 1500, "currency": "usd", "payment_method_types": ["card"], "customer": customer.id}
    )
    theirs = await as_b.v1.customers.create_async(params={"email": "bob@example.com"})

    missing = await fails(as_b.v1.customers.retrieve_async(customer.id), stripe.InvalidRequestError)
    assert (missing.http_status, missing.code, missing.param) == (404, "resource_missing", "id")
    assert missing.user_message == f"No such customer: '{customer.id}'"
    missing = await fails(as_b.v1.payment_intents.retrieve_async(intent.id), stripe.InvalidRequestError)
    assert (missing.http_status, missing.code) == (404, "resource_missing")
    named = await fails(
        as_b.v1.payment_intents.create_async(
            params={"amount": 100, "currency": "usd", "payment_method_types": ["card"], "customer": customer.id}
        ),
        stripe.InvalidRequestError,
    )
    assert (named.http_status, named.code, named.param) == (400, "resource_missing", "customer")

    assert [c.id for c in (await as_a.v1.customers.list_async()).data] == [customer.id]
    assert [c.id for c in (await as_b.v1.customers.list_async()).data] == [theirs.id]
    assert [i.id for i in (await as_a.v1.payment_intents.list_async()).data] == [intent.id]
    assert (await as_b.v1.payment_intents.list_async()).data == []
    assert (customer.livemode, intent.livemode, theirs.livemode) == (False, False, True)


async def test_a_key_may_come_in_the_body_or_the_query(
    new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    account = new_account()
    async with httpx.AsyncClient(base_url=stripe_base) as http:
        made = await http.post("/v1/customers", params={"key": account["secret_key"]}, data={"email": "q@example.com"})
        assert made.status_code == 200 and made.json()["email"] == "q@example.com"
        made = await http.post("/v1/customers", json={"key": account["secret_key"], "email": "j@example.com"})
        assert made.status_code == 200 and made.json()["email"] == "j@example.com"
        listed = await http.get("/v1/customers", params={"key": account["secret_key"]})
        assert listed.status_code == 200
        assert sorted(c["email"] for c in listed.json()["data"]) == ["j@example.com", "q@example.com"]
        basic = await http.get("/v1/customers", auth=(account["secret_key"], ""))
        assert basic.status_code == 200 and len(basic.json()["data"]) == 2


async def test_keys_unknown_revoked_missing_and_publishable_are_refused(
    sdk: Client, new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    account = new_account()
    refused = await fails(sdk("sk_test_nope00001234").v1.customers.list_async(), stripe.AuthenticationError)
    assert refused.http_status == 401 and refused.user_message == "Invalid API Key provided: sk_test_********1234"

    revoke_key(stripe_base, account["secret_key"])
    expired = await fails(sdk(account["secret_key"]).v1.customers.list_async(), stripe.AuthenticationError)
    assert expired.http_status == 401
    assert expired.user_message == f"Expired API Key provided: sk_test_{'*' * 20}{account['secret_key'][-4:]}."

    async with httpx.AsyncClient(base_url=stripe_base) as http:
        bare = await http.get("/v1/customers")
        assert bare.status_code == 401
        assert bare.json()["error"]["type"] == "invalid_request_error"
        assert bare.json()["error"]["message"].startswith("You did not provide an API key.")
        # A publishable key does what Stripe.js does, and nothing else.
        card = {"card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2034"}
        token = await http.post("/v1/tokens", data={**card, "card[cvc]": "123", "key": account["publishable_key"]})
        assert token.status_code == 200 and token.json()["id"].startswith("tok_")
    public = await fails(sdk(account["publishable_key"]).v1.customers.list_async(), stripe.AuthenticationError)
    assert public.http_status == 401 and "cannot be made with a publishable API key" in public.user_message


async def test_restricted_keys_reach_only_their_resources(
    sdk: Client, new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    account = new_account()
    limited = sdk(add_restricted_key(stripe_base, account["id"], ["customers"]))
    customer = await limited.v1.customers.create_async(params={"email": "r@example.com"})
    assert (await limited.v1.customers.retrieve_async(customer.id)).email == "r@example.com"
    denied = await fails(limited.v1.payment_intents.list_async(), stripe.PermissionError)
    assert denied.http_status == 403
    assert "does not have the required permissions for this endpoint on account" in denied.user_message
    assert account["id"] in denied.user_message and "rak_payment_intent_read" in denied.user_message
    await fails(limited.v1.accounts.retrieve_current_async(), stripe.PermissionError)

    unlimited = sdk(add_restricted_key(stripe_base, account["id"], None))
    assert (await unlimited.v1.accounts.retrieve_current_async()).id == account["id"]
    assert [c.id for c in (await unlimited.v1.customers.list_async()).data] == [customer.id]


async def test_account_is_the_keys_own(sdk: Client, new_account: Callable[..., dict[str, Any]]) -> None:
    account = new_account(email="billing@globex.example", country="FR", default_currency="eur")
    shown = (await sdk(account["secret_key"]).v1.accounts.retrieve_current_async()).to_dict()
    assert shown["id"] == account["id"] and shown["object"] == "account"
    assert shown["business_profile"]["name"] == shown["settings"]["dashboard"]["display_name"] == account["name"]
    assert (shown["email"], shown["country"], shown["default_currency"]) == ("billing@globex.example", "FR", "eur")
    assert shown["charges_enabled"] and shown["payouts_enabled"] and shown["details_submitted"]
    assert shown["type"] == "standard"


async def test_pii_tokens_are_made_with_the_publishable_key_and_read_only_in_their_account(
    sdk: Client, new_account: Callable[..., dict[str, Any]]
) -> None:
    mine, other = new_account(), new_account()
    token = await sdk(mine["publishable_key"]).v1.tokens.create_async({"pii": {"id_number": "000000000"}})
    assert token.id.startswith("pii_") and token.to_dict()["type"] == "pii"
    assert (await sdk(mine["secret_key"]).v1.tokens.retrieve_async(token.id)).id == token.id
    missing = await fails(sdk(other["secret_key"]).v1.tokens.retrieve_async(token.id), stripe.InvalidRequestError)
    assert missing.http_status == 404
    await fails(sdk(mine["publishable_key"]).v1.tokens.create_async({"pii": {}}), stripe.InvalidRequestError)


async def test_webhook_endpoint_lifecycle(sdk: Client, new_account: Callable[..., dict[str, Any]]) -> None:
    client, other = sdk(new_account()["secret_key"]), sdk(new_account()["secret_key"])
    made = await client.v1.webhook_endpoints.create_async(
        params={"url": "https://portal.example/hooks", "enabled_events": ["payment_intent.succeeded"],
                "description": "Portal", "metadata": {"workspace_id": "7"}}
    )  # fmt: skip
    assert made.id.startswith("we_") and made.secret.startswith("whsec_")
    assert (made.object, made.status, made.livemode, made.application) == ("webhook_endpoint", "enabled", False, None)
    assert (made.description, made.metadata.to_dict()) == ("Portal", {"workspace_id": "7"})

    shown = (await client.v1.webhook_endpoints.retrieve_async(made.id)).to_dict()
    assert "secret" not in shown and shown["url"] == "https://portal.example/hooks"
    elsewhere = await fails(other.v1.webhook_endpoints.retrieve_async(made.id), stripe.InvalidRequestError)
    assert (elsewhere.http_status, elsewhere.code, elsewhere.param) == (404, "resource_missing", "id")
    assert elsewhere.user_message == f"No such webhook endpoint: '{made.id}'"

    changed = await client.v1.webhook_endpoints.update_async(
        made.id, params={"disabled": True, "enabled_events": ["*"], "url": "https://portal.example/v2",
                         "metadata": {"workspace_id": "", "note": "x"}}
    )  # fmt: skip
    assert (changed.status, changed.enabled_events, changed.url) == ("disabled", ["*"], "https://portal.example/v2")
    assert changed.metadata.to_dict() == {"note": "x"} and "secret" not in changed.to_dict()
    assert (await client.v1.webhook_endpoints.update_async(made.id, params={"disabled": False})).status == "enabled"

    gone = await client.v1.webhook_endpoints.delete_async(made.id)
    assert (gone.id, gone.deleted) == (made.id, True)
    await fails(client.v1.webhook_endpoints.retrieve_async(made.id), stripe.InvalidRequestError)


async def test_webhook_endpoint_errors_are_stripes(sdk: Client, new_account: Callable[..., dict[str, Any]]) -> None:
    endpoints = sdk(new_account()["secret_key"]).v1.webhook_endpoints
    no_url = await fails(endpoints.create_async(params={"enabled_events": ["*"]}), stripe.InvalidRequestError)
    assert (no_url.http_status, no_url.code, no_url.param) == (400, "parameter_missing", "url")
    assert no_url.user_message == "Missing required param: url."
    no_events = await fails(endpoints.create_async(params={"url": "https://x.example"}), stripe.InvalidRequestError)
    assert (no_events.code, no_events.param) == ("parameter_missing", "enabled_events")
    bad_url = await fails(
        endpoints.create_async(params={"url": "not a url", "enabled_events": ["*"]}), stripe.InvalidRequestError
    )
    assert (bad_url.http_status, bad_url.code, bad_url.param) == (400, "url_invalid", "url")
    unknown = await fails(endpoints.update_async("we_nope", params={"disabled": True}), stripe.InvalidRequestError)
    assert (unknown.http_status, unknown.code) == (404, "resource_missing")


async def test_webhook_endpoints_list_newest_first_with_both_cursors(
    sdk: Client, new_account: Callable[..., dict[str, Any]]
) -> None:
    endpoints = sdk(new_account()["secret_key"]).v1.webhook_endpoints
    made = [
        (await endpoints.create_async(params={"url": f"https://x.example/{n}", "enabled_events": ["*"]})).id
        for n in range(5)
    ]
    e1, e2, e3, e4, e5 = made

    async def ids(**params: Any) -> tuple[list[str], bool]:
        listed = await endpoints.list_async(params={"limit": 2, **params})
        assert all("secret" not in item.to_dict() for item in listed.data)
        return [item.id for item in listed.data], listed.has_more

    assert await ids() == ([e5, e4], True)
    assert await ids(starting_after=e4) == ([e3, e2], True)
    assert await ids(starting_after=e2) == ([e1], False)
    assert await ids(ending_before=e1) == ([e3, e2], True)
    assert await ids(ending_before=e3) == ([e5, e4], False)
    every = [item.id async for item in (await endpoints.list_async(params={"limit": 2})).auto_paging_iter()]
    assert every == made[::-1]
    assert len((await endpoints.list_async()).data) == 5


async def test_events_reach_only_the_owning_accounts_endpoints_signed_with_their_secret(
    sdk: Client, new_account: Callable[..., dict[str, Any]]
) -> None:
    a, b = new_account(), new_account(livemode=True)
    as_a, as_b = sdk(a["secret_key"]), sdk(b["secret_key"])
    async with receiver() as box:
        to_a = await as_a.v1.webhook_endpoints.create_async(
            params={"url": f"{box.url}/a", "enabled_events": ["customer.created"]}
        )
        to_b = await as_b.v1.webhook_endpoints.create_async(params={"url": f"{box.url}/b", "enabled_events": ["*"]})
        mine = await as_a.v1.customers.create_async(params={"email": "a@example.com"})
        theirs = await as_b.v1.customers.create_async(params={"email": "b@example.com"})

        [delivery] = await box.wait_for("/a")
        event = event_of(delivery, to_a.secret)
        assert (event.type, event.data.object.id, event.livemode) == ("customer.created", mine.id, False)
        assert "account" not in json.loads(delivery[0])  # a direct (non-Connect) account's events carry none
        with pytest.raises(stripe.SignatureVerificationError):
            event_of(delivery, to_b.secret)
        [delivery] = await box.wait_for("/b")
        event = event_of(delivery, to_b.secret)
        assert (event.data.object.id, event.livemode) == (theirs.id, True)
        await asyncio.sleep(0.3)
        assert len(box.at("/a")) == len(box.at("/b")) == 1


async def test_disabled_and_deleted_endpoints_receive_nothing(
    sdk: Client, new_account: Callable[..., dict[str, Any]]
) -> None:
    client = sdk(new_account()["secret_key"])
    async with receiver() as box:
        made = {
            name: await client.v1.webhook_endpoints.create_async(
                params={"url": f"{box.url}/{name}", "enabled_events": ["customer.created"]}
            )
            for name in ("disabled", "deleted", "control")
        }
        await client.v1.webhook_endpoints.update_async(made["disabled"].id, params={"disabled": True})
        await client.v1.webhook_endpoints.delete_async(made["deleted"].id)
        await client.v1.customers.create_async(params={"email": "c@example.com"})
        event_of((await box.wait_for("/control"))[0], made["control"].secret)
        await asyncio.sleep(0.3)
        assert box.at("/disabled") == box.at("/deleted") == []


async def test_legacy_config_webhooks_get_the_default_accounts_events(
    sdk: Client, new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    flush(stripe_base)
    other = sdk(new_account()["secret_key"])
    name = f"legacy-{secrets.token_hex(3)}"
    async with receiver() as box:
        register_webhook(stripe_base, f"{box.url}/legacy", "whsec_legacy", name=name, events=["customer.created"])
        try:
            control = await other.v1.webhook_endpoints.create_async(
                params={"url": f"{box.url}/other", "enabled_events": ["customer.created"]}
            )
            await other.v1.customers.create_async(params={"email": "o@example.com"})
            default = await sdk("sk_test_portal").v1.customers.create_async(params={"email": "d@example.com"})
            [delivery] = await box.wait_for("/legacy")
            assert event_of(delivery, "whsec_legacy").data.object.id == default.id
            event_of((await box.wait_for("/other"))[0], control.secret)
            await asyncio.sleep(0.3)
            assert len(box.at("/legacy")) == 1
        finally:
            register_webhook(stripe_base, f"{box.url}/legacy", "whsec_legacy", name=name, events=[])


async def test_flush_forgets_objects_and_endpoints_of_every_account_but_keeps_keys(
    sdk: Client, new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    client = sdk(new_account()["secret_key"])
    await client.v1.customers.create_async(params={"email": "f@example.com"})
    await client.v1.webhook_endpoints.create_async(params={"url": "https://x.example", "enabled_events": ["*"]})
    flush(stripe_base)
    assert (await client.v1.customers.list_async()).data == []
    assert (await client.v1.webhook_endpoints.list_async()).data == []


async def test_billing_portal_sessions(
    sdk: Client, new_account: Callable[..., dict[str, Any]], stripe_base: str
) -> None:
    account = new_account()
    client, other = sdk(account["secret_key"]), sdk(new_account()["secret_key"])
    customer = await client.v1.customers.create_async(params={"email": "pay@example.com"})
    return_url = "https://portal.example/back?x=1&y=2"
    session = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "return_url": return_url, "locale": "fr"}
    )
    assert session.id.startswith("bps_") and session.object == "billing_portal.session"
    assert (session.customer, session.return_url, session.locale) == (customer.id, return_url, "fr")
    assert session.configuration.startswith("bpc_")
    assert (session.flow, session.on_behalf_of, session.livemode) == (None, None, False)
    assert session.url == f"{stripe_base}/billing_portal/session/{session.id}"
    async with httpx.AsyncClient() as http:
        page = await http.get(session.url)
    assert page.status_code == 200 and "<title>Manage billing</title>" in page.text
    assert "pay@example.com" in page.text and account["name"] in page.text
    assert f'<a href="https://portal.example/back?x=1&amp;y=2">Return to {account["name"]}</a>' in page.text

    elsewhere = await fails(
        other.v1.billing_portal.sessions.create_async(params={"customer": customer.id}), stripe.InvalidRequestError
    )
    assert (elsewhere.http_status, elsewhere.code, elsewhere.param) == (400, "resource_missing", "customer")
    assert elsewhere.user_message == f"No such customer: '{customer.id}'"
    missing = await fails(client.v1.billing_portal.sessions.create_async(params={}), stripe.InvalidRequestError)
    assert (missing.code, missing.param) == ("parameter_missing", "customer")
