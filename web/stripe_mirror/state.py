"""Stripe's side of a mirrored invoice as the console shows it, kept from each step's answer and from Stripe's own
events about it (which must never import it as an invoice made in Stripe: it is the portal's)."""

from __future__ import annotations

from typing import Any

from db.rows import Connection
from db.stripe_mirrors import save_stripe_state, select_mirror

PORTAL_ID = "portal_invoice_id"
PORTAL_WORKSPACE = "portal_workspace_id"


def stripe_state(invoice: dict[str, Any]) -> dict[str, Any]:
    def amount(name: str) -> int | None:
        value = invoice.get(name)
        return None if value is None else int(value)

    return {
        "number": invoice.get("number"),
        "status": str(invoice.get("status") or "pending"),
        "total": amount("total"),
        "amount_remaining": amount("amount_remaining"),
        "hosted_invoice_url": str(invoice.get("hosted_invoice_url") or "")[:2000],
        "invoice_pdf": str(invoice.get("invoice_pdf") or "")[:2000],
    }


def mirrored_from(invoice: dict[str, Any]) -> tuple[int, int] | None:
    """(workspace id, invoice id) when the portal made this Stripe invoice (its metadata says so)."""
    metadata = invoice.get("metadata") or {}
    invoice_id, workspace_id = str(metadata.get(PORTAL_ID) or ""), str(metadata.get(PORTAL_WORKSPACE) or "")
    if not (invoice_id.isdigit() and workspace_id.isdigit() and len(invoice_id) < 19 and len(workspace_id) < 19):
        return None
    return int(workspace_id), int(invoice_id)


async def follow(conn: Connection, workspace_id: int, account_id: str, invoice: dict[str, Any]) -> str | None:
    """For an event's invoice: None when it is not one the portal made (import it); else what was done with it."""
    made = mirrored_from(invoice)
    if made is None:
        return None
    mirror = await select_mirror(conn, made[1])
    if made[0] != workspace_id or mirror is None or mirror.account_id != account_id:
        return "ignored: issued by the portal for another workspace"
    if mirror.stripe_invoice_id not in (None, invoice.get("id")):
        return "ignored: an older copy the portal made of its invoice"
    changed = await save_stripe_state(conn, mirror.invoice_id, stripe_state(invoice))
    return "mirror updated" if changed else "mirror unchanged"
