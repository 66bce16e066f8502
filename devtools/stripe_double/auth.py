"""Every `/v1/...` request runs as one account: resolved from its key, checked the way Stripe checks keys, and
answered from that account's own store.

localstripe keeps all objects in one module-global store that its code looks up at call time. This middleware
(which replaces localstripe's `auth_middleware`, which accepted any `sk_` key) points that global at the
account's store for the duration of the request, under one lock, so two requests never see each other's
account: requests are serialised, which a test double can afford.

It also patches localstripe so that objects carry the account's `livemode`, and so that a missing object is
Stripe's `resource_missing` error instead of a bare "Not Found".
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from localstripe import resources, server

from .accounts import ORIGINAL_STORE, Account, Key, registry
from .api import StripeError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer "
    "auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)
PUBLISHABLE_KEY_REFUSED = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of "
    "your API keys at https://dashboard.stripe.com/account/apikeys."
)
# What Stripe.js does with a publishable key (localstripe's fake Stripe.js uses the first two and the last two).
_PUBLISHABLE_ROUTES = [
    ("POST", re.compile(r"^/v1/(tokens|sources|payment_methods)$")),
    ("GET", re.compile(r"^/v1/(payment_intents|setup_intents)/[^/]+$")),
    ("POST", re.compile(r"^/v1/payment_intents/[^/]+/(confirm|_authenticate)$")),
    ("POST", re.compile(r"^/v1/setup_intents/[^/]+/(confirm|cancel)$")),
]
_KEY_PREFIX = re.compile(r"^(sk|pk|rk)_(test|live)_")
# Stripe's names in its errors where they differ from the `object` value.
_LABELS = {"payment_method": "PaymentMethod"}


def mask(key: str) -> str:
    """Stripe shows a key in its errors with its prefix and last four characters only."""
    prefix = match.group(0) if (match := _KEY_PREFIX.match(key)) else ""
    rest = key[len(prefix) :]
    return prefix + "*" * max(len(rest) - 4, 0) + rest[-4:]


def resource_of(path: str) -> str:
    """The API resource a restricted key needs permission for: `/v1/payment_intents/pi_1/confirm` → payment_intents."""
    return path.split("/")[2] if path.count("/") >= 2 else ""


class MissingObject(StripeError):
    """localstripe's lookups raise this; the middleware says which parameter named the object."""

    def __init__(self, label: str, object_id: str, *, param: str = "id", status: int = 404) -> None:
        super().__init__(status, f"No such {label}: '{object_id}'", code="resource_missing", param=param)
        self.label, self.object_id = label, object_id


async def _request_data(request: web.Request) -> dict[str, Any]:
    data: Any = await server.get_post_data(request, remove_auth=False) if request.method == "POST" else None
    merged = dict(data) if isinstance(data, dict) else {}
    for name, value in request.query.items():
        merged.setdefault(name, value)
    return merged


def _header_key(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(credentials.strip()).decode().split(":", 1)[0] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


async def _key_of(request: web.Request) -> tuple[str | None, web.Request]:
    """The key from the Authorization header (Bearer or Basic), else a `key` field of the body, else of the query
    (Stripe.js sends its publishable key so). A `key` in the query is taken off the request the handlers see,
    since localstripe's handlers refuse parameters they do not know; that copy is made before the body is read,
    because a copy does not share a body already read."""
    query_key = request.query.get("key")
    if query_key is not None:
        request = request.clone(rel_url=request.rel_url.without_query_params("key"))
    key = _header_key(request)
    if key is None:
        value = (await _request_data(request)).get("key") or query_key
        key = value if isinstance(value, str) and value else None
    return key, request


def _authorize(request: web.Request, key: str | None) -> Account:
    if not key:
        raise StripeError(401, NO_KEY)
    found: Key | None = registry.keys.get(key)
    if found is None:
        raise StripeError(401, f"Invalid API Key provided: {mask(key)}")
    if key in registry.revoked:
        raise StripeError(401, f"Expired API Key provided: {mask(key)}.")
    if found.kind == "publishable" and not any(
        request.method == method and pattern.match(request.path) for method, pattern in _PUBLISHABLE_ROUTES
    ):
        raise StripeError(401, PUBLISHABLE_KEY_REFUSED)
    resource = resource_of(request.path)
    if found.kind == "restricted" and found.permissions is not None and resource not in found.permissions:
        access = "read" if request.method == "GET" else "write"
        raise StripeError(
            403,
            f"The provided key '{mask(key)}' does not have the required permissions for this endpoint on account "
            f"'{found.account.id}'. Having the 'rak_{resource.removesuffix('s')}_{access}' permission would allow "
            "this request to continue.",
        )
    on_behalf = request.headers.get("Stripe-Account")
    if on_behalf and on_behalf != found.account.id:
        raise StripeError(
            403,
            f"The provided key '{mask(key)}' does not have access to account '{on_behalf}' (or that account does "
            "not exist). Application access may have been revoked.",
        )
    return found.account


async def _naming_the_parameter(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A missing object named by the path is a 404 on `id`; one named by a parameter is Stripe's 400 on it."""
    try:
        return await handler(request)
    except MissingObject as missing:
        if missing.object_id in request.match_info.values():
            raise
        data = await _request_data(request)
        for name, value in data.items():
            if value == missing.object_id:
                raise MissingObject(missing.label, missing.object_id, param=name, status=400) from None
        raise


@web.middleware
async def account_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/js.stripe.com/") or request.method == "OPTIONS":
        return await handler(request)
    async with registry.lock:
        if not request.path.startswith("/v1/"):
            if request.method == "DELETE" and request.path == "/_config/data":
                registry.flush()  # localstripe's own handler then clears its original store (the default's) again
            return await handler(request)
        key, request = await _key_of(request)
        account = _authorize(request, key)
        resources.store, registry.current = account.store, account
        try:
            return await _naming_the_parameter(request, handler)
        finally:
            resources.store, registry.current = ORIGINAL_STORE, None


def _patch_localstripe() -> None:
    """Missing objects as Stripe words them; `livemode` from the account of the request that made the object."""

    def retrieve(cls: Any, id: Any) -> Any:
        obj = resources.store.get(cls.object + ":" + id)
        if obj is None:
            raise MissingObject(_LABELS.get(cls.object, cls.object), id)
        return obj

    def delete(cls: Any, id: Any) -> Any:
        retrieve(cls, id)
        del resources.store[cls.object + ":" + id]
        return resources.DeletedObject(id, cls.object)

    resources.StripeObject._api_retrieve = classmethod(retrieve)
    resources.StripeObject._api_delete = classmethod(delete)

    for cls in (resources.StripeObject, resources.Balance):
        cls.__init__ = _with_livemode(cls.__init__)


def _with_livemode(original: Callable[..., None]) -> Callable[..., None]:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if hasattr(self, "livemode") and registry.current is not None:
            self.livemode = registry.current.livemode

    return init


def install(app: web.Application) -> None:
    """Put the account middleware where localstripe's auth middleware was (inside its error middleware)."""
    middlewares = app.middlewares
    position = middlewares.index(server.auth_middleware)
    middlewares[position] = account_middleware
    _patch_localstripe()
