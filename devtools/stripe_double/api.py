"""How Stripe answers, shared by the double's own endpoints: JSON bodies, error objects, parameters and lists.

Errors are localstripe's `UserError` (its error middleware renders them) carrying Stripe's `code`, `param` and
`doc_url`, so the Stripe SDKs raise the same exception classes, with the same fields, as against Stripe.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from localstripe import server
from localstripe.errors import UserError

_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24) -> str:
    """An id the way Stripe shapes them (`we_1Mr5jULkdIwHu7ix1ibLTM0x`): a prefix and letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def json_response(body: Any, status: int = 200) -> web.Response:
    """Stripe's content type; indented and sorted like localstripe's own answers."""
    return web.json_response(body, status=status, dumps=lambda x: json.dumps(x, indent=2, sort_keys=True) + "\n")


class StripeError(UserError):  # type: ignore[misc]
    """An `invalid_request_error` with Stripe's optional fields (the SDK maps the HTTP status to its class)."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None) -> None:
        contents: dict[str, Any] = {}
        if code is not None:
            contents["code"] = code
            contents["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
        if param is not None:
            contents["param"] = param
        super().__init__(status, message, contents)


def missing_param(name: str) -> StripeError:
    return StripeError(400, f"Missing required param: {name}.", code="parameter_missing", param=name)


def unknown_param(name: str) -> StripeError:
    return StripeError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def no_such(label: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(status, f"No such {label}: '{object_id}'", code="resource_missing", param=param)


async def read_params(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    """The request's parameters (form, JSON or query; the key and `expand` left out); others are refused by name,
    as Stripe does, so a misspelt parameter fails loudly instead of being ignored."""
    if request.method == "POST":
        data = await server.get_post_data(request) or {}
    else:
        data = server.unflatten_data(request.query)
        data.pop("key", None)
    if not isinstance(data, dict):
        raise StripeError(400, "Invalid request body: expected form fields or a JSON object.")
    data = dict(data)
    data.pop("expand", None)
    for name in data:
        if name not in allowed:
            raise unknown_param(name)
    return data


def as_bool(value: Any, param: str) -> bool:
    """Form fields arrive as "true"/"false", JSON as booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise StripeError(400, f"Invalid boolean: {value}", param=param)


def as_text(value: Any, param: str) -> str | None:
    """A string parameter; an empty one unsets the field, as with Stripe."""
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {value!r}", param=param)
    return value or None


def check_url(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value:
        raise missing_param(param)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StripeError(400, "Not a valid URL", code="url_invalid", param=param)
    return value


def updated_metadata(current: dict[str, str], value: Any) -> dict[str, str]:
    """Stripe's metadata rules: keys are merged, an empty value removes its key, an empty string removes all."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param="metadata")
    merged = dict(current)
    for key, item in value.items():
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise StripeError(400, "Invalid metadata value: metadata values must be strings.", param=f"metadata[{key}]")
        if item == "":
            merged.pop(key, None)
        else:
            merged[str(key)] = str(item)
    return merged


def page(items: list[dict[str, Any]], params: dict[str, Any], url: str, label: str) -> dict[str, Any]:
    """One page of a list whose `items` are newest first, with Stripe's cursors: `starting_after` pages towards
    older objects, `ending_before` towards newer ones, and `has_more` says whether that direction has more."""
    raw = params.get("limit", 10)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {raw}", param="limit") from None
    if limit < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="limit")
    if limit > 100:
        raise StripeError(400, "This value must be less than or equal to 100.", param="limit")
    after, before = params.get("starting_after"), params.get("ending_before")
    if after and before:
        raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
    ids = [item["id"] for item in items]
    cursor, param = (after, "starting_after") if after else (before, "ending_before")
    if cursor and cursor not in ids:
        raise no_such(label, str(cursor), param=param, status=400)
    if after:
        rest = items[ids.index(after) + 1 :]
        data, has_more = rest[:limit], len(rest) > limit
    elif before:
        newer = items[: ids.index(before)]
        data, has_more = newer[-limit:], len(newer) > limit
    else:
        data, has_more = items[:limit], len(items) > limit
    return {"object": "list", "url": url, "has_more": has_more, "data": data}
