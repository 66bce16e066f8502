"""Shared plumbing of the double's Invoicing: Stripe-shaped errors, parameter parsing, events, lists and expansion.

Stateless on purpose: every object lives in `localstripe.resources.store`, looked up at call time (never kept),
because the accounts extension swaps that store per API key; and every event goes through
`resources.schedule_webhook`, looked up at call time, because that extension replaces it with per-account delivery.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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


class Params:
    """One request's parameters, checked the way Stripe checks them (unknown names refused, values typed)."""

    def __init__(self, data: JSON, allowed: Iterable[str]) -> None:
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise invalid(f"Received unknown parameter: {unknown[0]}", param=unknown[0], code="parameter_unknown")
        self.data = data

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {value!r}", param=name)
        return value

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(f"Invalid integer: {value}", param=name) from None
        if minimum is not None and number < minimum:
            raise invalid(f"This value must be greater than or equal to {minimum}.", param=name)
        return number

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(f"Invalid boolean: {value}", param=name)

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.text(name, default)
        if value is not None and value not in choices:
            raise invalid(f"Invalid {name}: must be one of {', '.join(choices[:-1])} or {choices[-1]}", param=name)
        return value

    def decimal(self, name: str, value: Any = None) -> Decimal | None:
        value = self.data.get(name) if value is None else value
        if value is None or value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise invalid(f"Invalid decimal: {value}", param=name) from None
        if not number.is_finite():
            raise invalid(f"Invalid decimal: {value}", param=name)
        return number

    def mapping(self, name: str) -> JSON | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {name}", param=name)
        return value

    def ids(self, name: str) -> list[str] | None:
        """A list of ids; "" (posted to clear it) is the empty list; absent is None."""
        value = self.data.get(name)
        if value is None:
            return None
        if value == "":
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid(f"Invalid array: {name}", param=name)
        return list(value)

    def tax_rates(self, name: str) -> list[Any] | None:
        ids = self.ids(name)
        return None if ids is None else [get("tax_rate", ident, param=name) for ident in ids]

    def metadata(self, current: JSON | None = None) -> JSON | None:
        """Stripe's metadata update: keys merge, a key posted empty is removed, metadata="" clears all."""
        value = self.data.get("metadata")
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid("Invalid object: metadata", param="metadata")
        merged = dict(current or {})
        for key, item in value.items():
            if item == "":
                merged.pop(key, None)
            else:
                merged[str(key)] = str(item)
        return merged

    def created_filter(self, name: str = "created") -> Callable[[int], bool]:
        value = self.data.get(name)
        if value is None:
            return lambda _: True
        if not isinstance(value, dict):
            exact = self.integer(name)
            return lambda created: created == exact
        bounds = {op: Params(value, ("gt", "gte", "lt", "lte")).integer(op) for op in ("gt", "gte", "lt", "lte")}
        tests: list[Callable[[int], bool]] = []
        for op, bound in bounds.items():
            if bound is not None:
                tests.append(_COMPARE[op](bound))
        return lambda created: all(test(created) for test in tests)


_COMPARE: dict[str, Callable[[int], Callable[[int], bool]]] = {
    "gt": lambda bound: lambda value: value > bound,
    "gte": lambda bound: lambda value: value >= bound,
    "lt": lambda bound: lambda value: value < bound,
    "lte": lambda bound: lambda value: value <= bound,
}

LIST_PARAMS = ("limit", "starting_after", "ending_before")


def page(items: list[Any], url: str, params: Params, export: Callable[[Any], JSON], label: str) -> JSON:
    """One page of a newest-first list, with Stripe's cursors: `starting_after` moves to older objects,
    `ending_before` to newer ones; `has_more` says whether more lie in that direction."""
    limit = params.integer("limit", 10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid("This value must be between 1 and 100.", param="limit")
    after, before = params.text("starting_after"), params.text("ending_before")
    if after and before:
        raise invalid("You may only specify one of these parameters: ending_before, starting_after.")
    ids = [item.id for item in items]
    if after is not None or before is not None:
        cursor = after if after is not None else before
        if cursor not in ids:
            param = "starting_after" if after is not None else "ending_before"
            raise invalid(f"No such {label}: '{cursor}'", param=param, code="resource_missing")
    if after is not None:
        start = ids.index(after) + 1
        chunk, has_more = items[start : start + limit], start + limit < len(items)
    elif before is not None:
        end = ids.index(before)
        start = max(0, end - limit)
        chunk, has_more = items[start:end], start > 0
    else:
        chunk, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": [export(item) for item in chunk], "has_more": has_more, "url": url}


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
