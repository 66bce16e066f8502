"""POST /webhooks/stripe/{workspace} (a workspace's own Stripe account) and /webhooks/stripe (the deployment's
account from the environment): verify the signature on the raw body with that account's secret, then apply the
event once, to that account's rows only."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from web.http.forms import read_body
from web.state import AppRequest
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import InvalidWebhook, ProviderUnavailable, StripeGateway
from web.stripe.webhooks import MalformedEvent, StripeEvent, apply_event
from web.stripe_sync.events import EVENT_READS, HANDLED_EVENTS

log = logging.getLogger(__name__)
# Stripe events are a few KB; anything far larger is not from Stripe.
_MAX_BODY = 512 * 1024


async def stripe_webhook(request: AppRequest) -> JSONResponse:
    account = request.state["stripe"].deployment
    if account is None or not account.webhook_secret:
        return JSONResponse({"error": "Stripe webhooks are not configured here."}, status_code=404)
    return await _receive(request, account)


async def workspace_stripe_webhook(request: AppRequest) -> JSONResponse:
    workspace_id: int = request.path_params["workspace"]  # a row id (web/routes.py bounds it)
    async with request.state["pool"].acquire() as conn:
        account = await request.state["stripe"].own(conn, workspace_id)
    if account is None:
        return JSONResponse({"error": "This workspace has not connected a Stripe account."}, status_code=404)
    return await _receive(request, account)


async def _receive(request: AppRequest, account: StripeAccount) -> JSONResponse:
    try:
        body = await read_body(request, _MAX_BODY)
    except HTTPException as refused:
        return JSONResponse({"error": refused.detail}, status_code=refused.status_code)
    try:
        event = StripeGateway.verify_event(body, request.headers.get("stripe-signature"), account.webhook_secret)
    except InvalidWebhook:
        return JSONResponse({"error": "Invalid signature."}, status_code=400)
    try:
        payload = StripeEvent.from_payload(event)
        outcome = await apply_event(request.state["pool"], account, payload, HANDLED_EVENTS, EVENT_READS)
    except MalformedEvent as malformed:
        # Rolled back whole (the event id too): a corrected resend is applied.
        log.warning("stripe event refused: %s", malformed)
        return JSONResponse({"error": f"Not an event we understand: {malformed}."}, status_code=400)
    except ProviderUnavailable:
        # Nothing was committed; Stripe retries the event later.
        return JSONResponse({"error": "Stripe unreachable; retry later."}, status_code=503)
    log.info("stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return JSONResponse({"received": True, "outcome": outcome})
