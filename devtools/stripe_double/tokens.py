"""PII tokens (`POST /v1/tokens` with `pii[id_number]`), which localstripe lacks: Stripe.js makes them with the
publishable key, and the portal makes one to check that a publishable key belongs to the secret key's account (the
secret key can retrieve only its own account's tokens)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError

_card_token_init = resources.Token.__init__


def _token_init(self: Any, card: Any = None, customer: Any = None, pii: Any = None, **kwargs: Any) -> None:
    if pii is None:
        _card_token_init(self, card=card, customer=customer, **kwargs)
        return
    if card is not None or customer is not None or kwargs:
        raise UserError(400, "You cannot specify both pii and another kind of token.")
    number = pii.get("id_number") if isinstance(pii, dict) else None
    if not isinstance(number, str) or not number:
        raise UserError(400, "Missing required param: pii[id_number].", {"param": "pii[id_number]"})
    resources.StripeObject.__init__(self, id="pii_" + resources.random_id(24))
    self.type = "pii"
    self.used = False
    self.client_ip = None


def install(app: web.Application) -> None:
    resources.Token.__init__ = _token_init  # type: ignore[method-assign]
