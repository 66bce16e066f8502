"""Writing Stripe Invoicing (part of the gateway: only web/stripe imports `stripe`): the calls that issue a portal
invoice in the workspace's Stripe account and keep it in step (web/stripe_mirror decides when and in which order).

Every create carries an idempotency key made of our ids, so a retry whose first answer was lost gets the same
object back from Stripe instead of a second one. Failures are the gateway's two: ProviderUnavailable (retry later)
and PaymentRefused (Stripe said no; str() is Stripe's own message, for the billing team).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import stripe

from web.stripe.gateway import StripeGateway, translate
from web.stripe.invoices import retrieve_customer


async def _call(request: Awaitable[Any]) -> dict[str, Any]:
    try:
        answer = await request
    except stripe.StripeError as error:
        raise translate(error) from error
    found: dict[str, Any] = answer.to_dict()
    return found


async def existing_customer(gateway: StripeGateway, customer_id: str) -> dict[str, Any] | None:
    """The customer when the account still has it (not deleted)."""
    customer = await retrieve_customer(gateway, customer_id)
    return None if customer is None or customer.get("deleted") else customer


async def create_customer(gateway: StripeGateway, params: dict[str, Any], *, key: str) -> str:
    created = await _call(gateway.client.v1.customers.create_async(params, {"idempotency_key": key}))  # type: ignore[arg-type]
    return str(created["id"])


async def find_invoice_by_metadata(
    gateway: StripeGateway, customer_id: str, name: str, value: str
) -> dict[str, Any] | None:
    """The customer's invoice whose metadata[name] is value (one made before a crash lost its id), newest first."""
    params: dict[str, Any] = {"customer": customer_id, "limit": 100}
    page = await _call(gateway.client.v1.invoices.list_async(params))  # type: ignore[arg-type]
    for invoice in page.get("data") or []:
        if (invoice.get("metadata") or {}).get(name) == value and invoice.get("status") != "deleted":
            return dict(invoice)
    return None


async def create_invoice(gateway: StripeGateway, params: dict[str, Any], *, key: str) -> dict[str, Any]:
    return await _call(gateway.client.v1.invoices.create_async(params, {"idempotency_key": key}))  # type: ignore[arg-type]


async def update_invoice(gateway: StripeGateway, invoice_id: str, params: dict[str, Any]) -> None:
    await _call(gateway.client.v1.invoices.update_async(invoice_id, params))  # type: ignore[arg-type]


async def add_item(gateway: StripeGateway, params: dict[str, Any], *, key: str) -> None:
    await _call(gateway.client.v1.invoice_items.create_async(params, {"idempotency_key": key}))  # type: ignore[arg-type]


async def set_line_taxes(
    gateway: StripeGateway, invoice_id: str, line_id: str, tax_amounts: list[dict[str, Any]]
) -> None:
    """Tax amounts computed by the portal, set on a draft's line (Stripe's way for taxes calculated elsewhere)."""
    params: dict[str, Any] = {"tax_amounts": tax_amounts}
    await _call(gateway.client.v1.invoices.line_items.update_async(invoice_id, line_id, params))  # type: ignore[arg-type]


async def finalize(gateway: StripeGateway, invoice_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"auto_advance": False}
    return await _call(gateway.client.v1.invoices.finalize_invoice_async(invoice_id, params))  # type: ignore[arg-type]


async def void(gateway: StripeGateway, invoice_id: str) -> dict[str, Any]:
    return await _call(gateway.client.v1.invoices.void_invoice_async(invoice_id))


async def delete_draft(gateway: StripeGateway, invoice_id: str) -> None:
    await _call(gateway.client.v1.invoices.delete_async(invoice_id))


async def mark_uncollectible(gateway: StripeGateway, invoice_id: str) -> dict[str, Any]:
    return await _call(gateway.client.v1.invoices.mark_uncollectible_async(invoice_id))


async def report_payment(gateway: StripeGateway, params: dict[str, Any], *, key: str) -> str:
    """A payment made outside Stripe (a bank transfer recorded by billing), as a Stripe PaymentRecord; its id."""
    record = await _call(gateway.client.v1.payment_records.report_payment_async(params, {"idempotency_key": key}))  # type: ignore[arg-type]
    return str(record["id"])


async def record_of_payment(gateway: StripeGateway, record_id: str) -> str | None:
    """The portal payment a PaymentRecord reports (its metadata), to tell one a lost answer already attached."""
    record = await _call(gateway.client.v1.payment_records.retrieve_async(record_id))
    found = (record.get("metadata") or {}).get("portal_payment_id")
    return None if found is None else str(found)


async def attach_record(gateway: StripeGateway, invoice_id: str, record_id: str) -> None:
    params: dict[str, Any] = {"payment_record": record_id}
    await _call(gateway.client.v1.invoices.attach_payment_async(invoice_id, params))  # type: ignore[arg-type]


async def invoice_payments(gateway: StripeGateway, invoice_id: str) -> list[dict[str, Any]]:
    """Every payment attached to the invoice (to skip one a lost answer already attached)."""
    params: dict[str, Any] = {"invoice": invoice_id, "limit": 100}
    page = await _call(gateway.client.v1.invoice_payments.list_async(params))  # type: ignore[arg-type]
    return list(page.get("data") or [])
