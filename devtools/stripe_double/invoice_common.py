"""Shared plumbing of the double's Invoicing: Stripe-shaped errors, lookups, events and expansion (parameters and
list pages: invoice_params).

Stateless on purpose: every object lives in `localstripe.resources.store`, looked up at call time (never kept),
because the accounts extension swaps that store per API key; and every event goes through
`resources.schedule_webhook`, looked up at call time, because that extension replaces it with per-account delivery.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from localstripe import resources
from localstripe.errors import UserError

JSON = dict[str, Any]

# The double's own origin (scheme, host, port) for the request being served: finalization builds the hosted page
# and PDF addresses from it. Per request (a context variable), not stored state.
base_url: contextvars.ContextVar[str] = contextvars.ContextVar("invoicing_base_url", default="http://127.0.0.1")


def now() -> int:
    return int(time.time())


def invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400, kind: str | None = None
) -> UserError:
    """A Stripe error body ({"error": {"type", "message", "param", "code"}}) the SDK turns into its error classes."""
    contents = {key: value for key, value in (("param", param), ("code", code)) if value is not None}
    if code is not None:
        contents["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
    error = UserError(status, message, contents)
    if kind is not None:
        error.body["error"]["type"] = kind
    return error


def missing(label: str, ident: object) -> UserError:
    return invalid(f"No such {label}: '{ident}'", param="id", code="resource_missing", status=404)


def find(kind: str, ident: object) -> Any:
    """The stored object `kind:ident` of the current account, or None."""
    return resources.store.get(f"{kind}:{ident}") if isinstance(ident, str) and ident else None


def get(kind: str, ident: object, label: str | None = None, *, param: str | None = None) -> Any:
    """The stored object, or Stripe's error: 404 when the path names it, 400 on the parameter that named it."""
    obj = find(kind, ident)
    if obj is None:
        if param is not None:
            raise invalid(f"No such {label or kind}: '{ident}'", param=param, code="resource_missing")
        raise missing(label or kind, ident)
    return obj


def stored(kind: str) -> list[Any]:
    """Every stored object of a kind, oldest first (the store keeps insertion order)."""
    prefix = kind + ":"
    return [value for key, value in list(resources.store.items()) if key.startswith(prefix)]


def newest_first(items: Iterable[Any]) -> list[Any]:
    """Stripe lists newest first; objects created in the same second keep reverse creation order (stable sort)."""
    return sorted(reversed(list(items)), key=lambda obj: obj.created, reverse=True)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def decimal_string(value: Decimal) -> str:
    """Stripe's `*_decimal` strings: "1500", "12.5" (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def emit(kind: str, obj: Any, previous: JSON | None = None) -> None:
    """Record an event (GET /v1/events) and have it delivered to webhooks, with `previous_attributes` for updates."""
    event = resources.Event(kind, obj)
    if previous:
        event.data["previous_attributes"] = previous
    resources.schedule_webhook(event)


def changed(before: JSON, after: JSON) -> JSON:
    """Stripe's `previous_attributes`: the old value of every top-level field that changed."""
    return {key: value for key, value in before.items() if key != "lines" and after.get(key) != value}


def expand(obj: JSON, paths: Any) -> JSON:
    """`expand[]=customer`, `expand[]=payments.data.payment.payment_intent`: replace ids by their objects."""
    if paths is None:
        return obj
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        raise invalid("Invalid array: expand", param="expand")
    for path in paths:
        if len(path.split(".")) > 4:
            raise invalid("You cannot expand more than 4 levels of a property", param="expand")
        _expand(obj, path.split("."))
    return obj


def _expand(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(item, parts)
        return
    if not isinstance(node, dict) or not parts or parts[0] not in node:
        return
    key, rest = parts[0], parts[1:]
    value = node[key]
    if isinstance(value, str):
        cls = resources.StripeObject._get_class_for_id(value)
        if cls is not None:
            value = node[key] = cls._api_retrieve(value)._export()
    if rest and value is not None:
        _expand(value, rest)
