"""Stripe's webhook endpoints API, per account, and the delivery of each account's events to its own endpoints.

The portal creates a webhook endpoint in each workspace's account and verifies that account's events with that
endpoint's secret, so the double must keep endpoints per account and must never send one account's events to
another's endpoints. localstripe's delivery (`schedule_webhook`, which its code looks up at call time) is
replaced by one that remembers the account of the request that made the event.

The legacy registrations of `POST /_config/webhooks/{name}` (localstripe's own) still receive the events of the
default account, as before; like localstripe, endpoints and registrations are chosen when the event is sent,
about a second after the API call that made it (tests rely on the event arriving after the call returned).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

import aiohttp
from aiohttp import web
from localstripe import resources, webhooks

from .accounts import Account, registry
from .api import (
    StripeError,
    as_bool,
    as_text,
    check_url,
    json_response,
    missing_param,
    no_such,
    page,
    random_id,
    read_params,
    updated_metadata,
)

DELIVERY_DELAY = 1.0  # seconds, as localstripe
_EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_TASKS: set[asyncio.Task[None]] = set()
log = logging.getLogger("aiohttp.access")


def _account() -> Account:
    assert registry.current is not None  # the account middleware runs first
    return registry.current


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The endpoint as Stripe shows it after creation: without its secret."""
    return {name: value for name, value in endpoint.items() if name != "secret"}


def _enabled_events(value: Any) -> list[str]:
    if value in (None, "", [], {}):
        raise missing_param("enabled_events")
    if not isinstance(value, list):
        raise StripeError(400, "Invalid array", param="enabled_events")
    for index, name in enumerate(value):
        if not isinstance(name, str) or (name != "*" and not _EVENT_TYPE.match(name)):
            raise StripeError(400, f"Invalid enabled_events[{index}]: not an event type: {name!r}",
                              param=f"enabled_events[{index}]")  # fmt: skip
    return list(dict.fromkeys(value))


def _endpoint(account: Account, endpoint_id: str) -> dict[str, Any]:
    endpoint = account.webhook_endpoints.get(endpoint_id)
    if endpoint is None:
        raise no_such("webhook endpoint", endpoint_id)
    return endpoint


async def create(request: web.Request) -> web.Response:
    params = await read_params(request, {"url", "enabled_events", "description", "metadata", "api_version", "connect"})
    if "url" not in params:
        raise missing_param("url")
    url = check_url(params["url"], "url")
    events = _enabled_events(params.get("enabled_events"))
    if as_bool(params.get("connect", False), "connect"):
        raise StripeError(400, "Connect webhook endpoints are not supported by the local Stripe double.",
                          param="connect")  # fmt: skip
    account = _account()
    endpoint: dict[str, Any] = {
        "id": random_id("we_"),
        "object": "webhook_endpoint",
        "api_version": as_text(params["api_version"], "api_version") if "api_version" in params else None,
        "application": None,
        "created": int(time.time()),
        "description": as_text(params["description"], "description") if "description" in params else None,
        "enabled_events": events,
        "livemode": account.livemode,
        "metadata": updated_metadata({}, params.get("metadata", {})),
        "secret": random_id("whsec_", 32),
        "status": "enabled",
        "url": url,
    }
    account.webhook_endpoints[endpoint["id"]] = endpoint
    return json_response(endpoint)


async def retrieve(request: web.Request) -> web.Response:
    await read_params(request, set())
    return json_response(_public(_endpoint(_account(), request.match_info["id"])))


async def update(request: web.Request) -> web.Response:
    endpoint = _endpoint(_account(), request.match_info["id"])
    params = await read_params(request, {"url", "enabled_events", "disabled", "description", "metadata"})
    changes: dict[str, Any] = {}  # checked in full before anything changes, as Stripe does
    if "url" in params:
        changes["url"] = check_url(params["url"], "url")
    if "enabled_events" in params:
        changes["enabled_events"] = _enabled_events(params["enabled_events"])
    if "disabled" in params:
        changes["status"] = "disabled" if as_bool(params["disabled"], "disabled") else "enabled"
    if "description" in params:
        changes["description"] = as_text(params["description"], "description")
    if "metadata" in params:
        changes["metadata"] = updated_metadata(endpoint["metadata"], params["metadata"])
    endpoint.update(changes)
    return json_response(_public(endpoint))


async def delete(request: web.Request) -> web.Response:
    account = _account()
    endpoint = _endpoint(account, request.match_info["id"])
    del account.webhook_endpoints[endpoint["id"]]
    return json_response({"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True})


async def list_all(request: web.Request) -> web.Response:
    params = await read_params(request, {"limit", "starting_after", "ending_before"})
    newest_first = [_public(endpoint) for endpoint in reversed(_account().webhook_endpoints.values())]
    return json_response(page(newest_first, params, "/v1/webhook_endpoints", "webhook endpoint"))


def schedule(event: Any) -> None:
    """localstripe's `schedule_webhook`: the event is rendered now (from the request's account), sent later."""
    account = registry.current or registry.default
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode()
    task = asyncio.ensure_future(_deliver(account, str(event.type), payload))
    _TASKS.add(task)  # a task nobody holds may be collected before it runs
    task.add_done_callback(_TASKS.discard)


def _send_webhook(event: Any) -> Any:
    """For code that took localstripe's original `schedule_webhook` before it was replaced: that function hands
    `_send_webhook(event)` (looked up at call time) to `ensure_future`; the event goes the new way instead."""
    schedule(event)
    return asyncio.sleep(0)


def _targets(account: Account | None, event_type: str) -> list[tuple[str, str]]:
    targets: list[tuple[str, str]] = []
    if account is not None:
        for endpoint in list(account.webhook_endpoints.values()):
            wanted = "*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"]
            if endpoint["status"] == "enabled" and wanted:
                targets.append((endpoint["url"], endpoint["secret"]))
    if account is registry.default:
        for hook in list(webhooks._webhooks.values()):
            if hook.events is None or event_type in hook.events:
                targets.append((hook.url, hook.secret))
    return targets


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """Stripe's `Stripe-Signature` header: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint's secret."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def _deliver(account: Account | None, event_type: str, payload: bytes) -> None:
    await asyncio.sleep(DELIVERY_DELAY)
    targets = _targets(account, event_type)
    if not targets:
        return
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for url, secret in targets:
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature(secret, int(time.time()), payload),
            }
            try:
                async with session.post(url, data=payload, headers=headers) as response:
                    log.info("webhook %s to %s: %d", event_type, url, response.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.info("webhook %s to %s failed: %s", event_type, url, error)


def install(app: web.Application) -> None:
    resources.schedule_webhook = schedule
    webhooks.schedule_webhook = schedule
    webhooks._send_webhook = _send_webhook
    app.router.add_post("/v1/webhook_endpoints", create)
    app.router.add_get("/v1/webhook_endpoints", list_all)
    app.router.add_get("/v1/webhook_endpoints/{id}", retrieve)
    app.router.add_post("/v1/webhook_endpoints/{id}", update)
    app.router.add_delete("/v1/webhook_endpoints/{id}", delete)
