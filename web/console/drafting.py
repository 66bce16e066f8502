"""Saving the builder's form on the locked draft, and sending it when asked: one transaction, the form always kept
as typed, a refused send rolled back to the saved draft (its number given back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from db.invoices import Invoice, lock_invoice_in_workspace, save_draft
from db.rows import Connection
from db.staff import Staff
from web.console.customer_form import find_customer
from web.console.draft import DraftCheck, blank_line, check_draft
from web.console.sending import SendRefused, Sent, send_draft
from web.i18n.letters import Letters

ACTIONS = ("save", "add_line", "preview", "send")


@dataclass(frozen=True, slots=True)
class Saved:
    check: DraftCheck
    sent: Sent | None = None
    message: str = ""  # why it was not sent, for the page


def apply_line_action(
    action: str, lines: list[tuple[str, dict[str, str]]]
) -> tuple[str, list[tuple[str, dict[str, str]]], str]:
    """The builder's buttons that change the lines (add, remove:<key>) applied to the posted lines: the action as
    saved ("save" for an unknown one), the lines, and the key of a line to focus (the one just added)."""
    if action == "add_line":
        added = blank_line(lines[-1][1]["tax_rate"], lines[-1][1]["tax_category"]) if lines else blank_line()
        return action, [*lines, added], added[0]
    if action.startswith("remove:"):
        return action, [line for line in lines if line[0] != action.removeprefix("remove:")], ""
    return (action if action in ACTIONS else "save"), lines, ""


async def save_form(
    conn: Connection,
    draft: Invoice,
    posted: dict[str, str],
    lines: list[tuple[str, dict[str, str]]],
    *,
    staff: Staff,
    send: bool,
    today: date,
    link_url: Callable[[str], str],
    letters: Letters,
) -> Saved:
    """`draft` is locked by the caller's transaction and still a draft."""
    found = await find_customer(conn, staff.workspace_id, posted.get("customer_id", ""))
    check = check_draft(posted, lines, current=draft, customer_ids={found.id} if found else set())
    await save_draft(
        conn, draft.id, customer_id=check.customer_id, currency=check.currency, locale=check.locale,
        issue_date=check.issue_date, due_date=check.due_date, notes=check.notes, payment_terms=check.payment_terms,
        vat_exemption_reason=check.vat_exemption_reason, lines=check.valid_lines, draft_form=check.as_json(),
    )  # fmt: skip
    if not send:
        return Saved(check)
    if check.problems:
        return Saved(check, message="Correct the marked fields before sending. The draft was saved as it is.")
    try:
        async with conn.transaction():  # a refused send rolls back to the saved draft: no number taken
            saved = await lock_invoice_in_workspace(conn, staff.workspace_id, draft.id)  # as just saved
            assert saved is not None  # locked by this transaction since before the save
            return Saved(
                check, await send_draft(conn, saved, staff=staff, today=today, link_url=link_url, letters=letters)
            )
    except SendRefused as refused:
        return Saved(check, message=str(refused))
