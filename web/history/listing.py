"""The rows of a billing history and what is due now, with the document's own amounts (Stripe's for an invoice
made in Stripe), so the list never disagrees with the invoice's page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from db.history import HistoryQuery, HistoryRecord, select_history, select_stored_due
from db.invoices import Invoice
from db.rows import Connection
from web.invoices.documents import amount_due, is_overdue
from web.invoices.status import OWES_NOTHING, UNPAID
from web.invoices.totals import compute_totals

PAGE_SIZE = 25
# Unpaid invoices issued before totals were stored are summed from their lines, at most this many.
MAX_UNPAID_SUMMED = 5000
FILTERS = ("open", "overdue", "paid", "void", "uncollectible")
_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})\.(\d{1,18})")


@dataclass(frozen=True, slots=True)
class HistoryRow:
    invoice: Invoice
    total: int
    paid: int
    due: int
    overdue: bool
    receipt_ids: tuple[int, ...] = ()

    @property
    def partly_paid(self) -> bool:
        return self.paid > 0 and self.due > 0


@dataclass(frozen=True, slots=True)
class HistoryPage:
    rows: list[HistoryRow]
    next_cursor: str | None  # the `before` of the next (older) page; None: this is the last


def history_row(record: HistoryRecord, today: date) -> HistoryRow:
    invoice = record.invoice
    total = record.total if record.total is not None else compute_totals(record.lines, invoice.currency).total
    if record.stripe_remaining is not None:  # Stripe's own figure (a credit note lowers it, not the total)
        due = 0 if invoice.status in OWES_NOTHING else record.stripe_remaining
    else:
        due = amount_due(invoice.status, total, record.paid)
    return HistoryRow(invoice, total, record.paid, due, is_overdue(invoice, due, today), tuple(record.receipt_ids))


def history_query(status: str, number: str, before: str, today: date) -> HistoryQuery:
    """The page's query parameters, made safe: an unknown filter or a malformed cursor is simply not applied."""
    after = None
    if (matched := _CURSOR.fullmatch(before)) is not None:
        try:
            after = (date.fromisoformat(matched.group(1)), int(matched.group(2)))
        except ValueError:
            after = None
    statuses = None
    if status in FILTERS and status != "overdue":
        statuses = (status,)
    return HistoryQuery(
        statuses=statuses, overdue_on=today if status == "overdue" else None, number=number.strip()[:64], after=after
    )


async def history_page(
    conn: Connection, workspace_id: int, email: str, query: HistoryQuery, today: date
) -> HistoryPage:
    records = await select_history(conn, workspace_id, email, query, PAGE_SIZE + 1)
    rows = [history_row(record, today) for record in records[:PAGE_SIZE]]
    last = rows[-1].invoice if rows and len(records) > PAGE_SIZE else None
    cursor = f"{last.issue_date.isoformat()}.{last.id}" if last is not None and last.issue_date is not None else None
    return HistoryPage(rows, cursor)


async def listing_context(
    conn: Connection, workspace_id: int, email: str, params: Mapping[str, str], today: date
) -> dict[str, object]:
    """What templates/history/_list.html needs, from the page's query (status, q, before): the signed-in page and
    the embed's frame show the same list."""
    status, number = params.get("status", ""), params.get("q", "")[:64]
    query = history_query(status, number, params.get("before", "")[:40], today)
    return {
        "page": await history_page(conn, workspace_id, email, query, today),
        "due_now": await due_now(conn, workspace_id, email, today),
        "status": status if status in FILTERS else "", "number": number, "filters": FILTERS, "today": today,
        "paged": query.after is not None,
    }  # fmt: skip


async def due_now(conn: Connection, workspace_id: int, email: str, today: date) -> list[tuple[str, int]]:
    """What is due now, per currency (largest first), over every open or uncollectible invoice of the address: one
    sum in SQL over stored totals, plus the few invoices issued before totals were stored, from their lines."""
    sums = await select_stored_due(conn, workspace_id, email)
    unpaid = tuple(status.value for status in UNPAID)
    records = await select_history(
        conn, workspace_id, email, HistoryQuery(statuses=unpaid, unstored_only=True), MAX_UNPAID_SUMMED
    )
    for record in records:
        row = history_row(record, today)
        if row.due > 0:
            sums[row.invoice.currency] = sums.get(row.invoice.currency, 0) + row.due
    return sorted(((currency, due) for currency, due in sums.items() if due > 0), key=lambda item: (-item[1], item[0]))
