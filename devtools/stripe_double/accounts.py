"""Several Stripe accounts on one double: each with its keys, its own localstripe store and its own endpoints.

Each workspace of the portal connects its own Stripe account, so tests need accounts whose data are apart, keys
that can be unknown, revoked or restricted, and `GET /v1/account`. The accounts are made through double-only
`/_config/...` endpoints (like localstripe's own), never through Stripe's API, which has no such thing.

The first account made is the default one: localstripe's legacy `/_config/webhooks/{name}` registrations deliver
its events, and it keeps localstripe's original store object (so code holding that object sees its data).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from localstripe import resources, server

from .api import StripeError, as_bool, json_response, random_id

KeyKind = Literal["secret", "publishable", "restricted"]
ORIGINAL_STORE = resources.store
_PERMISSION = re.compile(r"^[a-z_]+$")


class MemoryStore(resources.Store):  # type: ignore[misc]
    """localstripe's store without its persistence (it pickles itself into /tmp after every write)."""

    def dump_to_disk(self) -> None:
        pass

    def try_load_from_disk(self) -> None:
        pass


@dataclass(eq=False)
class Account:
    id: str
    name: str
    email: str | None
    country: str
    default_currency: str
    livemode: bool
    secret_key: str
    publishable_key: str
    store: dict[str, Any]
    created: int = field(default_factory=lambda: int(time.time()))
    restricted_keys: dict[str, frozenset[str] | None] = field(default_factory=dict)
    webhook_endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # oldest first
    portal_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_configuration: str = field(default_factory=lambda: random_id("bpc_"))

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"

    def flush(self) -> None:
        """Forget every object, endpoint and portal session; the account and its keys stay."""
        self.store.clear()
        self.webhook_endpoints.clear()
        self.portal_sessions.clear()

    def config(self, revoked: set[str]) -> dict[str, Any]:
        """The double's own view of the account (keys included), for the `/_config/accounts` endpoints."""
        keys = [self.secret_key, self.publishable_key, *self.restricted_keys]
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "country": self.country,
            "default_currency": self.default_currency,
            "livemode": self.livemode,
            "secret_key": self.secret_key,
            "publishable_key": self.publishable_key,
            "restricted_keys": [
                {"key": key, "permissions": None if perms is None else sorted(perms)}
                for key, perms in self.restricted_keys.items()
            ],
            "revoked_keys": [key for key in keys if key in revoked],
        }

    def stripe_object(self) -> dict[str, Any]:
        """Stripe's Account object, as `GET /v1/account` shows a standard account that finished onboarding."""
        return {
            "id": self.id,
            "object": "account",
            "business_profile": {
                "mcc": None,
                "name": self.name,
                "product_description": None,
                "support_address": None,
                "support_email": self.email,
                "support_phone": None,
                "support_url": None,
                "url": None,
            },
            "business_type": None,
            "capabilities": {"card_payments": "active", "transfers": "active"},
            "charges_enabled": True,
            "country": self.country,
            "created": self.created,
            "default_currency": self.default_currency,
            "details_submitted": True,
            "email": self.email,
            "metadata": {},
            "payouts_enabled": True,
            "settings": {
                "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
                "dashboard": {"display_name": self.name, "timezone": "Etc/UTC"},
                "payments": {"statement_descriptor": None},
            },
            "type": "standard",
        }


@dataclass(frozen=True)
class Key:
    value: str
    account: Account
    kind: KeyKind
    permissions: frozenset[str] | None = None  # restricted keys only; None: every resource


class Registry:
    """Every account and key of the double. `lock` serialises requests: while one runs, localstripe's global
    `resources.store` is its account's store and `current` its account (see auth.py)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, Key] = {}
        self.revoked: set[str] = set()
        self.current: Account | None = None
        self.lock = asyncio.Lock()

    @property
    def default(self) -> Account | None:
        return next(iter(self.accounts.values()), None)

    def create(
        self,
        name: str,
        *,
        email: str | None = None,
        country: str = "US",
        default_currency: str = "usd",
        livemode: bool = False,
        secret_key: str | None = None,
        publishable_key: str | None = None,
        account_id: str | None = None,
    ) -> Account:
        mode = "live" if livemode else "test"
        secret_key = secret_key or random_id(f"sk_{mode}_")
        publishable_key = publishable_key or random_id(f"pk_{mode}_")
        account_id = account_id or random_id("acct_", 16)
        _check_key(secret_key, f"sk_{mode}_", "secret_key")
        _check_key(publishable_key, f"pk_{mode}_", "publishable_key")
        if not account_id.startswith("acct_") or account_id in self.accounts:
            raise StripeError(400, f"The id must start with acct_ and be new: {account_id!r}.", param="id")
        for key, param in ((secret_key, "secret_key"), (publishable_key, "publishable_key")):
            if key in self.keys:
                raise StripeError(400, f"This key belongs to another account already: {key!r}.", param=param)
        account = Account(
            id=account_id, name=name, email=email, country=country.upper(), default_currency=default_currency.lower(),
            livemode=livemode, secret_key=secret_key, publishable_key=publishable_key,
            store=ORIGINAL_STORE if not self.accounts else MemoryStore(),
        )  # fmt: skip
        self.accounts[account.id] = account
        self.keys[secret_key] = Key(secret_key, account, "secret")
        self.keys[publishable_key] = Key(publishable_key, account, "publishable")
        return account

    def add_restricted_key(self, account: Account, key: str | None, permissions: frozenset[str] | None) -> Key:
        key = key or random_id(f"rk_{account.mode}_")
        _check_key(key, f"rk_{account.mode}_", "key")
        if key in self.keys:
            raise StripeError(400, f"This key exists already: {key!r}.", param="key")
        account.restricted_keys[key] = permissions
        self.keys[key] = Key(key, account, "restricted", permissions)
        return self.keys[key]

    def flush(self) -> None:
        for account in self.accounts.values():
            account.flush()


def _check_key(key: Any, prefix: str, param: str) -> None:
    if not isinstance(key, str) or not key.startswith(prefix) or len(key) <= len(prefix) or " " in key:
        raise StripeError(400, f"{param} must start with {prefix} (the account's mode) and go on.", param=param)


registry = Registry()


def _text(data: dict[str, Any], name: str, default: str | None) -> str | None:
    value = data.get(name, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise StripeError(400, f"{name} must be a non-empty string.", param=name)
    return value


async def create_account(request: web.Request) -> web.Response:
    """`POST /_config/accounts` {name, email?, country?, default_currency?, livemode?, secret_key?,
    publishable_key?, id?}: the account, keys included."""
    data = await server.get_post_data(request) or {}
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        raise StripeError(400, "Missing required param: name.", code="parameter_missing", param="name")
    unknown = set(data) - {"name", "email", "country", "default_currency", "livemode", "secret_key",
                           "publishable_key", "id"}  # fmt: skip
    if unknown:
        raise StripeError(400, f"Received unknown parameter: {sorted(unknown)[0]}", param=sorted(unknown)[0])
    country, currency = _text(data, "country", "US") or "US", _text(data, "default_currency", "usd") or "usd"
    if not re.fullmatch(r"[A-Za-z]{2}", country) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise StripeError(400, "country is two letters (US), default_currency three (usd).")
    account = registry.create(
        data["name"].strip(), email=_text(data, "email", None), country=country, default_currency=currency,
        livemode=as_bool(data.get("livemode", False), "livemode"), secret_key=_text(data, "secret_key", None),
        publishable_key=_text(data, "publishable_key", None), account_id=_text(data, "id", None),
    )  # fmt: skip
    return json_response(account.config(registry.revoked))


async def list_accounts(request: web.Request) -> web.Response:
    """`GET /_config/accounts`: every account, the default one first."""
    return json_response({"data": [account.config(registry.revoked) for account in registry.accounts.values()]})


async def add_restricted_key(request: web.Request) -> web.Response:
    """`POST /_config/accounts/{id}/restricted_keys` {key?, permissions?: [resource, …] | null} → {"key": "rk_…"}."""
    account = registry.accounts.get(request.match_info["id"])
    if account is None:
        raise StripeError(404, f"No such account: '{request.match_info['id']}'", code="resource_missing", param="id")
    data = await server.get_post_data(request) or {}
    if not isinstance(data, dict):
        raise StripeError(400, "Expected a JSON object.")
    permissions = data.get("permissions")
    if permissions is not None and (
        not isinstance(permissions, list) or not all(isinstance(p, str) and _PERMISSION.match(p) for p in permissions)
    ):
        raise StripeError(400, "permissions: a list of API resource names (customers, payment_intents…) or null.")
    key = registry.add_restricted_key(
        account, _text(data, "key", None), None if permissions is None else frozenset(permissions)
    )
    return json_response({"key": key.value, "account": account.id, "permissions": data.get("permissions")})


async def revoke_key(request: web.Request) -> web.Response:
    """`DELETE /_config/keys/{key}`: the key stops working (Stripe then answers "Expired API Key provided")."""
    key = request.match_info["key"]
    if key not in registry.keys:
        raise StripeError(404, "No such key.", code="resource_missing", param="key")
    registry.revoked.add(key)
    return json_response({"key": key, "revoked": True})


async def retrieve_account(request: web.Request) -> web.Response:
    """`GET /v1/account`: the key's account (auth.py has resolved it)."""
    assert registry.current is not None
    return json_response(registry.current.stripe_object())


def install(app: web.Application) -> None:
    app.router.add_post("/_config/accounts", create_account)
    app.router.add_get("/_config/accounts", list_accounts)
    app.router.add_post("/_config/accounts/{id}/restricted_keys", add_restricted_key)
    app.router.add_delete("/_config/keys/{key}", revoke_key)
    app.router.add_get("/v1/account", retrieve_account)
