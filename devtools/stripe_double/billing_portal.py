"""Stripe's customer portal sessions (`POST /v1/billing_portal/sessions`), per account, and a stand-in page.

The portal sends a customer to Stripe's hosted billing page of the workspace's account; the double makes the
session the way Stripe does (only for a customer of the key's account) and serves a small page at the session's
URL, so a test or the demo can follow the link and come back through `return_url`.
"""

from __future__ import annotations

import html
import time
from typing import Any

from aiohttp import web
from localstripe import resources

from .accounts import registry
from .api import StripeError, check_url, json_response, missing_param, no_such, random_id, read_params

# Stripe's `locale` values for the customer portal.
LOCALES = (
    "auto bg cs da de el en en-AU en-CA en-GB en-IE en-IN en-NZ en-SG es es-419 et fi fil fr fr-CA hr hu id it ja "
    "ko lt lv ms mt nb nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW"
).split()


async def create_session(request: web.Request) -> web.Response:
    params = await read_params(
        request, {"customer", "return_url", "locale", "configuration", "flow_data", "on_behalf_of"}
    )
    account = registry.current
    assert account is not None  # the account middleware runs first
    customer_id = params.get("customer")
    if not customer_id:
        raise missing_param("customer")
    customer = resources.store.get(f"customer:{customer_id}") if isinstance(customer_id, str) else None
    if customer is None:
        raise no_such("customer", str(customer_id), param="customer", status=400)
    return_url = check_url(params["return_url"], "return_url") if "return_url" in params else None
    locale = params.get("locale") or None
    if locale is not None and locale not in LOCALES:
        raise StripeError(400, f"Invalid locale: must be one of {', '.join(LOCALES)}", param="locale")
    configuration = params.get("configuration") or account.portal_configuration
    if configuration != account.portal_configuration:
        raise no_such("configuration", str(configuration), param="configuration", status=400)
    for unsupported in ("flow_data", "on_behalf_of"):
        if params.get(unsupported):
            raise StripeError(400, f"{unsupported} is not supported by the local Stripe double.", param=unsupported)
    session_id = random_id("bps_")
    session: dict[str, Any] = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": configuration,
        "created": int(time.time()),
        "customer": customer_id,
        "flow": None,
        "livemode": account.livemode,
        "locale": locale,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{request.scheme}://{request.host}/billing_portal/session/{session_id}",
    }
    account.portal_sessions[session_id] = session
    return json_response(session)


_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Manage billing</title></head>
<body>
<main>
<h1>Manage billing</h1>
<p>{business}</p>
<p>Customer: <strong class="customer-email">{email}</strong></p>
<p>This page stands in for Stripe's customer portal (local Stripe double).</p>
{back}
</main>
</body>
</html>
"""


async def session_page(request: web.Request) -> web.Response:
    """The page at a session's `url`: the account's name, the customer's e-mail, the way back."""
    session_id = request.match_info["id"]
    for account in registry.accounts.values():
        session = account.portal_sessions.get(session_id)
        if session is None:
            continue
        customer = account.store.get(f"customer:{session['customer']}")
        email = getattr(customer, "email", None) or ""
        back = ""
        if session["return_url"]:
            back = f'<p><a href="{html.escape(session["return_url"])}">Return to {html.escape(account.name)}</a></p>'
        body = _PAGE.format(business=html.escape(account.name), email=html.escape(email), back=back)
        return web.Response(text=body, content_type="text/html")
    return web.Response(status=404, text="This portal session does not exist (or the double was flushed).")


def install(app: web.Application) -> None:
    app.router.add_post("/v1/billing_portal/sessions", create_session)
    app.router.add_get("/billing_portal/session/{id}", session_page)
