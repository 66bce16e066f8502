"""Reading Stripe Invoicing (part of the gateway: only web/stripe imports `stripe`): one invoice whole (every line,
the percentage of every tax rate it names, its paid payments) and pages of a workspace's invoices for the backfill."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime, time
from typing import Any

import stripe

from web.stripe.gateway import StripeGateway, translate

_PAGE = 100


async def retrieve_invoice(gateway: StripeGateway, invoice_id: str, *, for_copy: bool = True) -> dict[str, Any] | None:
    """The invoice as Stripe has it now, with all its lines and (unless `for_copy` is False) what its copy needs
    besides (see complete_invoice); None when Stripe has no such invoice (a deleted draft)."""
    invoice = await _found(gateway.client.v1.invoices.retrieve_async(invoice_id))
    return None if invoice is None else await complete_invoice(gateway, invoice, {}, for_copy=for_copy)


async def complete_invoice(
    gateway: StripeGateway, invoice: dict[str, Any], rates: dict[str, str], *, for_copy: bool = True
) -> dict[str, Any]:
    """`invoice` (retrieved or listed) with every line (Stripe includes the first ten) and, for a copy, the
    percentage of each tax rate it names (`tax_rate_percentages`: {txr id: "19.0"}) and its paid payments, each
    with its PaymentIntent and that intent's charge (the card on a receipt) in `payments`; `rates` caches
    percentages across invoices (a backfill asks for each rate once)."""
    client = gateway.client
    try:
        lines = invoice.get("lines") or {}
        data = list(lines.get("data") or [])
        while lines.get("has_more") and data:
            page = await client.v1.invoices.line_items.list_async(
                str(invoice["id"]), {"limit": _PAGE, "starting_after": str(data[-1]["id"])}
            )
            lines = page.to_dict()
            data += list(lines.get("data") or [])
        whole = {**invoice, "lines": {"object": "list", "data": data, "has_more": False}}
        if for_copy:
            whole["tax_rate_percentages"] = await _percentages(client, whole, rates)
            paid = await _paid_payments(client, str(invoice["id"])) if invoice.get("amount_paid") else []
            whole["payments"] = {"object": "list", "data": paid, "has_more": False}
    except stripe.StripeError as error:
        raise translate(error) from error
    return whole


async def list_invoices(
    gateway: StripeGateway, *, since: date | None, starting_after: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the account's invoices, newest first, from `starting_after` on; (invoices, has more)."""
    params: dict[str, Any] = {"limit": _PAGE}
    if since is not None:
        params["created"] = {"gte": int(datetime.combine(since, time(), UTC).timestamp())}
    if starting_after:
        params["starting_after"] = starting_after
    try:
        page = (await gateway.client.v1.invoices.list_async(params)).to_dict()  # type: ignore[arg-type]
    except stripe.StripeError as error:
        raise translate(error) from error
    return list(page.get("data") or []), bool(page.get("has_more"))


async def retrieve_customer(gateway: StripeGateway, customer_id: str) -> dict[str, Any] | None:
    return await _found(gateway.client.v1.customers.retrieve_async(customer_id))


async def _found(retrieval: Awaitable[Any]) -> dict[str, Any] | None:
    """The retrieved object as a dict, None when Stripe has no such object (404)."""
    try:
        found: dict[str, Any] = (await retrieval).to_dict()
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise translate(error) from error
    except stripe.StripeError as error:
        raise translate(error) from error
    return found


async def _paid_payments(client: stripe.StripeClient, invoice_id: str) -> list[dict[str, Any]]:
    """Every paid InvoicePayment of the invoice (the invoice's own `payments` is includable only, and a page)."""
    params: dict[str, Any] = {
        "invoice": invoice_id, "status": "paid", "limit": _PAGE,
        "expand": ["data.payment.payment_intent.latest_charge"],
    }  # fmt: skip
    found: list[dict[str, Any]] = []
    while True:
        page = (await client.v1.invoice_payments.list_async(params)).to_dict()  # type: ignore[arg-type]
        found += list(page.get("data") or [])
        if not page.get("has_more") or not found:
            return found
        params["starting_after"] = str(found[-1]["id"])


async def _percentages(client: stripe.StripeClient, invoice: dict[str, Any], known: dict[str, str]) -> dict[str, str]:
    named = set()
    for taxed in [
        *(invoice.get("total_taxes") or []),
        *(t for line in invoice["lines"]["data"] for t in line.get("taxes") or []),
    ]:
        rate = (taxed.get("tax_rate_details") or {}).get("tax_rate")
        if isinstance(rate, str):
            named.add(rate)
        elif isinstance(rate, dict) and isinstance(rate.get("id"), str):
            named.add(rate["id"])
    for rate_id in sorted(named - known.keys()):
        rate = (await client.v1.tax_rates.retrieve_async(rate_id)).to_dict()
        known[rate_id] = str(rate.get("effective_percentage") or rate.get("percentage") or "0")
    return {rate_id: known[rate_id] for rate_id in named}


async def attach_intent(gateway: StripeGateway, invoice_id: str, intent_id: str) -> None:
    """Make the PaymentIntent pay that Stripe invoice (Stripe's invoice partial payments): when it succeeds, the
    invoice's amount_paid and status follow at Stripe. Attaching it again is no error (a retry whose first answer
    was lost). Raises PaymentRefused (the invoice cannot take it: paid, void, another currency) or
    ProviderUnavailable."""
    client = gateway.client
    try:
        await client.v1.invoices.attach_payment_async(invoice_id, {"payment_intent": intent_id})
    except stripe.InvalidRequestError as error:
        params: dict[str, Any] = {
            "invoice": invoice_id,
            "payment": {"type": "payment_intent", "payment_intent": intent_id},
        }
        listed = await _found(client.v1.invoice_payments.list_async(params))  # type: ignore[arg-type]
        if listed and listed.get("data"):
            return
        raise translate(error) from error
    except stripe.StripeError as error:
        raise translate(error) from error
