"""What the settings page says about the Stripe connection: which keys are present (the mode only, never the key),
the webhook secret, the last webhook received, and in plain words what does not work while a piece is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from web.settings import Settings

_KEY = re.compile(r"^(?:sk|rk|pk)_(test|live)_")


@dataclass(frozen=True, slots=True)
class StripeCheck:
    label: str
    present: bool
    detail: str  # what is configured (never a secret), or the consequence of it missing
    word: str = ""  # the state in one or two words, shown as the badge (colour only repeats it)

    @property
    def state(self) -> str:
        return self.word or ("Set" if self.present else "Missing")


def stripe_checks(settings: Settings, last_webhook: tuple[str, datetime] | None) -> list[StripeCheck]:
    """Keys come from the server's environment, so the page only reports them: the mode and last four
    characters, enough to tell keys apart, never enough to use one."""
    secret, public = settings.stripe_secret_key, settings.stripe_publishable_key
    checks = [
        StripeCheck(
            "Secret key", bool(secret),
            _key_hint(secret) if secret else "Missing (STRIPE_SECRET_KEY). The portal cannot create payments at "
            "Stripe, so customers are offered no card payment, only the bank transfer instructions.",
        ),
        StripeCheck(
            "Publishable key", bool(public),
            _key_hint(public) if public else "Missing (STRIPE_PUBLISHABLE_KEY). The customer's browser cannot load "
            "Stripe's card form, so customers are offered no card payment, only the bank transfer instructions.",
        ),
        StripeCheck(
            "Webhook signing secret", bool(settings.stripe_webhook_secret),
            "Set." if settings.stripe_webhook_secret else "Missing (STRIPE_WEBHOOK_SECRET). Stripe's payment "
            "notifications cannot be verified and are refused, and only they mark a payment as succeeded: card "
            "payments stay “processing” and invoices are never marked paid.",
        ),
    ]  # fmt: skip
    modes = {match.group(1) for key in (secret, public) if (match := _KEY.match(key))}
    if len(modes) > 1:
        checks.append(
            StripeCheck("Key modes", False, "One key is for test mode and the other for live mode: Stripe refuses "
                        "every payment until both come from the same mode.", "Mismatch")
        )  # fmt: skip
    if last_webhook is None:
        checks.append(
            StripeCheck("Last webhook received", False, "None yet. If customers have paid by card, check in Stripe's "
                        "dashboard that events are sent to the endpoint below.", "None yet")
        )  # fmt: skip
    else:
        kind, received = last_webhook
        when = received.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        checks.append(StripeCheck("Last webhook received", True, f"{kind}, {when}", "Received"))
    return checks


def _key_hint(key: str) -> str:
    match = _KEY.match(key)
    if match is None:
        return "Set, but not in a format Stripe issues (sk_… or pk_…): check the value."
    mode = "test mode" if match.group(1) == "test" else "live mode"
    # The last four only when the rest stays long: a short test key would be half revealed.
    tail = key[-4:] if len(key) >= len(match.group(0)) + 16 else ""
    return f"{match.group(0)}…{tail} ({mode})"
