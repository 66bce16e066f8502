"""The local Stripe test double (localstripe) for `make demo` and the tests: started as a separate process from
devtools/localstripe_server.py (localstripe is GPL and never imported by the app), bound to 127.0.0.1."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette

from web.payments.ledger import EVENT_HANDLERS
from web.settings import PROJECT_ROOT, Settings
from web.stripe.gateway import CardSummary, CardToConfirm

if TYPE_CHECKING:
    from stripe import StripeClient

# Any key works with localstripe; these make it obvious in logs that no real Stripe account is involved.
SECRET_KEY = "sk_test_localstripe"  # noqa: S105 (not a secret: the test double accepts any key)
PUBLISHABLE_KEY = "pk_test_localstripe"


@contextlib.contextmanager
def localstripe() -> Iterator[str]:
    """Run localstripe on a free port for the duration of the block; yield its base URL."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and script, no user input)
        [sys.executable, str(PROJECT_ROOT / "devtools" / "localstripe_server.py"), "--port", "0"],
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
    """Forget every object (between tests)."""
    httpx.delete(f"{base}/_config/data", timeout=5).raise_for_status()


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
