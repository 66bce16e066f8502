"""Request parameters checked the way Stripe checks them, and Stripe's list pages with their cursors.

Why strict: Stripe refuses an unknown or mistyped parameter by name (400 invalid_request_error), so code that
passes against the double cannot misspell one that Stripe would refuse. Nested hashes are checked the same way and
named in errors as Stripe names them (`tax_amounts[0][amount]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from .invoice_common import JSON, get, invalid

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class Params:
    """One request's parameters, checked the way Stripe checks them (unknown names refused, values typed)."""

    def __init__(self, data: JSON, allowed: Iterable[str], prefix: str = "") -> None:
        self.prefix = prefix  # a nested hash's own name, so errors name `tax_amounts[0][amount]` as Stripe does
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            name = self.name(unknown[0])
            raise invalid(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
        self.data = data

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def nested(self, key: str, allowed: Iterable[str], *, required: bool = False) -> Params | None:
        """The hash posted as `key`, checked like the request itself (None when absent and not required)."""
        if required:
            self.require(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self.name(key)}", param=self.name(key))
        return Params(value, allowed, self.name(key))

    def require(self, *keys: str) -> None:
        for key in keys:
            if self.data.get(key) is None or self.data.get(key) == "":
                name = self.name(key)
                raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(
        self, name: str, default: str | None = None, *, required: bool = False, max_length: int | None = None
    ) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.require(name)
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {value!r}", param=self.name(name))
        if max_length is not None and len(value) > max_length:
            raise invalid(f"Invalid string: {value}; must be at most {max_length} characters", param=self.name(name))
        return value

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(f"Invalid integer: {value}", param=self.name(name)) from None
        if minimum is not None and number < minimum:
            raise invalid(f"This value must be greater than or equal to {minimum}.", param=self.name(name))
        return number

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(f"Invalid boolean: {value}", param=self.name(name))

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.text(name, default)
        if value is not None and value not in choices:
            raise invalid(
                f"Invalid {self.name(name)}: must be one of {', '.join(choices[:-1])} or {choices[-1]}",
                param=self.name(name),
            )
        return value

    def decimal(self, name: str, value: Any = None) -> Decimal | None:
        value = self.data.get(name) if value is None else value
        if value is None or value == "":
            return None
        # Stripe's decimal strings are plain digits with an optional fraction: no exponent ("2E+1"), no "NaN".
        if not _PLAIN_DECIMAL.fullmatch(str(value)):
            raise invalid(f"Invalid decimal: {value}", param=self.name(name))
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise invalid(f"Invalid decimal: {value}", param=self.name(name)) from None
        if not number.is_finite():
            raise invalid(f"Invalid decimal: {value}", param=self.name(name))
        return number

    def mapping(self, name: str) -> JSON | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self.name(name)}", param=self.name(name))
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
            raise invalid(f"Invalid array: {self.name(name)}", param=self.name(name))
        return list(value)

    def tax_rates(self, name: str) -> list[Any] | None:
        ids = self.ids(name)
        rates = None if ids is None else [get("tax_rate", ident, param=self.name(name)) for ident in ids]
        for rate in rates or []:
            if getattr(rate, "_from_tax_rate_data", False):  # Stripe keeps those to the tax_amounts that made them
                raise invalid(
                    f"The tax rate {rate.id} was created from tax_rate_data and can't be applied directly.",
                    param=self.name(name),
                )
        return rates

    def metadata(self, current: JSON | None = None) -> JSON | None:
        """Stripe's metadata update: keys merge, a key posted empty is removed, metadata="" clears all."""
        value = self.data.get("metadata")
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self.name('metadata')}", param=self.name("metadata"))
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
