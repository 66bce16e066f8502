"""The local Stripe test double (localstripe) for `make demo` and the tests: started as a separate process from
devtools/localstripe_server.py (localstripe is GPL and never imported by the app), bound to 127.0.0.1.

The double holds several Stripe accounts, each known by its keys; the keys given to `localstripe()` are the
default (first) account's. The helpers below drive the double's own `/_config/...` endpoints."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette

from web.payments.ledger import EVENT_HANDLERS
from web.settings import PROJECT_ROOT, Settings
from web.stripe.gateway import CardSummary, CardToConfirm

if TYPE_CHECKING:
    from stripe import StripeClient

# The default account's keys (`make demo`): they make it obvious in logs that no real Stripe account is involved.
SECRET_KEY = "sk_test_localstripe"  # noqa: S105 (not a secret: a key of the local test double)
PUBLISHABLE_KEY = "pk_test_localstripe"
# A second account of the demo, standing for a business's own Stripe account (console → Settings → Stripe).
DEMO_OWN_SECRET_KEY = "sk_test_northwind_own_account"  # noqa: S105 (a key of the local test double)
DEMO_OWN_PUBLISHABLE_KEY = "pk_test_northwind_own_account"


@contextlib.contextmanager
def localstripe(secret_key: str = SECRET_KEY, publishable_key: str = PUBLISHABLE_KEY) -> Iterator[str]:
    """Run localstripe on a free port for the duration of the block, its default account known by these keys;
    yield its base URL."""
    script = str(PROJECT_ROOT / "devtools" / "localstripe_server.py")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and script, no user input)
        [sys.executable, script, "--port", "0", "--secret-key", secret_key, "--publishable-key", publishable_key],
        stdin=subprocess.PIPE,  # closed when we exit, however we exit: the server then stops too
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("localstripe listening on "):
            raise RuntimeError(f"localstripe did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def register_webhook(base: str, url: str, secret: str, name: str = "portal", events: list[str] | None = None) -> None:
    """Have localstripe sign and send the events we handle to `url` (it delivers about a second later)."""
    body = {"url": url, "secret": secret, "events": sorted(EVENT_HANDLERS) if events is None else events}
    httpx.post(f"{base}/_config/webhooks/{name}", json=body, timeout=5).raise_for_status()


def flush(base: str) -> None:
    """Forget every object and webhook endpoint of every account (between tests); accounts and keys stay."""
    httpx.delete(f"{base}/_config/data", timeout=5).raise_for_status()


def create_account(base: str, name: str, *, livemode: bool = False, **fields: Any) -> dict[str, Any]:
    """A new Stripe account in the double (keys generated unless given in `fields`): its JSON, keys included."""
    response = httpx.post(f"{base}/_config/accounts", json={"name": name, "livemode": livemode, **fields}, timeout=5)
    response.raise_for_status()
    account: dict[str, Any] = response.json()
    return account


def add_restricted_key(base: str, account_id: str, permissions: list[str] | None) -> str:
    """A restricted key (rk_…) of the account, allowed the API resources named (None: all of them)."""
    url = f"{base}/_config/accounts/{account_id}/restricted_keys"
    response = httpx.post(url, json={"permissions": permissions}, timeout=5)
    response.raise_for_status()
    return str(response.json()["key"])


def revoke_key(base: str, key: str) -> None:
    """The key stops working, as a rolled key does at Stripe."""
    httpx.delete(f"{base}/_config/keys/{key}", timeout=5).raise_for_status()


class TokenCardId:
    """localstripe's dialect (web.stripe.gateway.CardAttachment): it cannot make a PaymentMethod from a card token,
    so the token's card id is attached instead, and it refuses the `use_stripe_sdk` confirm flag."""

    async def prepare(self, client: StripeClient, card_token: str) -> CardToConfirm:
        card = (await client.v1.tokens.retrieve_async(card_token)).to_dict()["card"]
        return CardToConfirm(str(card["id"]), CardSummary(str(card.get("brand", "")), str(card["last4"])), {})


def app_from_env() -> Starlette:
    """`uvicorn --factory web.dev.local_stripe:app_from_env`: the portal wired to a localstripe (benchmarks)."""
    from web.app import configure_logging, create_app

    configure_logging()
    return create_app(Settings.from_env(), stripe_cards=TokenCardId())
