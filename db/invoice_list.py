"""The console's invoice list: newest first, a page at a time by keyset (a page deep in a list of a hundred
thousand invoices costs what the first does), filtered by status or customer, searched by number, customer name
or amount. Every condition is an index scan (migration 0024); the plans are in bench/scale.py's output."""

from __future__ import annotations

from dataclasses import dataclass, field

from db.customers import SEARCH_WORDS, is_searchable, search_query
from db.invoices import Invoice, InvoiceLine, select_lines_by_invoice
from db.rows import Arguments, Connection, prefixed, rows_to


@dataclass(frozen=True, slots=True)
class AmountSearch:
    """One typed amount in minor units for each currency exponent (Stripe's 0, 2 and 3 decimals): "12.50" is
    1250 cents but no whole yen. Each list holds every reading of the text ("1,250" may be 1250 or 1.25)."""

    whole: list[int] = field(default_factory=list)  # zero-decimal currencies
    cents: list[int] = field(default_factory=list)  # two decimals (most currencies)
    mills: list[int] = field(default_factory=list)  # three decimals
    zero_decimal: list[str] = field(default_factory=list)  # the currency codes of each exponent
    three_decimal: list[str] = field(default_factory=list)

    @property
    def any_reading(self) -> list[int]:
        return sorted({*self.whole, *self.cents, *self.mills})


@dataclass(frozen=True, slots=True)
class InvoiceListQuery:
    status: str | None = None
    customer_id: int | None = None
    text: str = ""  # the start or the end of a number, or words of the customer's name
    amount: AmountSearch | None = None  # also matches invoices of this total (when the text reads as one)
    after: int | None = None  # the last invoice of the previous page


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """One row of the console's invoice list."""

    invoice: Invoice
    customer_name: str
    lines: list[InvoiceLine]
    paid: int


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_matches(query: InvoiceListQuery, arguments: Arguments) -> str | None:
    """The ids of the invoices the search finds, as a union of index scans, one per way of matching. Written
    as one OR of conditions, the planner walked the whole list newest first, testing each invoice (450 ms at
    200,000 invoices for a number that matched once): a union reads only what matches."""
    text = query.text.strip().lower()
    ways = []
    if text:
        ways.append(f"lower(number) LIKE {arguments.add(_like_prefix(text))}")  # invoices_number_start
        ways.append(f"reverse(lower(number)) LIKE {arguments.add(_like_prefix(text[::-1]))}")  # invoices_number_end
    if is_searchable(text):  # invoices_customer, after customers_search_words
        words = search_query(arguments.add(text))
        ways.append(
            f"customer_id = ANY(ARRAY(SELECT id FROM customers WHERE workspace_id = $1 AND {SEARCH_WORDS} @@ {words}))"
        )
    if query.amount is not None and query.amount.any_reading:
        amount = query.amount
        # Candidates by index (invoices_issued_total, stripe_invoices_total); the CASE keeps those whose currency
        # reads the text so (1250 is 12.50 EUR, not 1250 JPY).
        zero, whole = arguments.add(amount.zero_decimal), arguments.add(amount.whole)
        three, mills = arguments.add(amount.three_decimal), arguments.add(amount.mills)
        exact = (
            f"CASE WHEN currency = ANY({zero}::text[]) THEN {whole}::bigint[]"
            f" WHEN currency = ANY({three}::text[]) THEN {mills}::bigint[]"
            f" ELSE {arguments.add(amount.cents)}::bigint[] END"
        )
        readings = arguments.add(amount.any_reading)
        ways.append(f"issued_total = ANY({readings}::bigint[]) AND issued_total = ANY({exact})")
        ways.append(
            f"id = ANY(ARRAY(SELECT invoice_id FROM stripe_invoices WHERE total = ANY({readings}::bigint[])))"
            f" AND (SELECT total FROM stripe_invoices s WHERE s.invoice_id = invoices.id) = ANY({exact})"
        )
    if not ways:
        return None
    # With what the page's order and filters need, so the thousands a broad word finds are not read twice.
    columns = "id, created_at, status, customer_id"
    return " UNION ".join(f"SELECT {columns} FROM invoices WHERE workspace_id = $1 AND {way}" for way in ways)


async def select_invoice_rows(
    conn: Connection, workspace_id: int, query: InvoiceListQuery = InvoiceListQuery(), *, limit: int = 50
) -> list[InvoiceRow]:
    """Newest first, with lines (totals are computed the document's way, not in SQL) and the amount paid."""
    arguments = Arguments(workspace_id, limit)
    # A search's matches first (materialized, so they drive the query), then the list's order over them only;
    # the page's ids are chosen from narrow rows (a word many names share matches thousands of invoices).
    matches = _search_matches(query, arguments)
    found = f"found AS MATERIALIZED ({matches})," if matches else ""
    source = "found i" if matches else "invoices i"
    conditions = ["true"] if matches else ["i.workspace_id = $1"]
    if query.status is not None:
        conditions.append(f"i.status = {arguments.add(query.status)}")
    if query.customer_id is not None:
        conditions.append(f"i.customer_id = {arguments.add(query.customer_id)}")
    if query.after is not None:
        last = arguments.add(query.after)
        conditions.append(
            f"(i.created_at, i.id) < (SELECT created_at, id FROM invoices WHERE workspace_id = $1 AND id = {last})"
        )
    records = await conn.fetch(
        f"""
        WITH {found} page AS (
            SELECT i.id FROM {source} WHERE {" AND ".join(conditions)}
            ORDER BY i.created_at DESC, i.id DESC LIMIT $2
        )
        SELECT {prefixed(Invoice, "i")}, c.name AS customer_name,
               coalesce((SELECT sum(p.amount - p.amount_refunded) FROM payments p
                         WHERE p.invoice_id = i.id AND p.status = 'succeeded'), 0) AS paid
        FROM page JOIN invoices i ON i.id = page.id JOIN customers c ON c.id = i.customer_id
        ORDER BY i.created_at DESC, i.id DESC
        """,
        *arguments.values,
    )
    invoices = rows_to(Invoice, records)
    by_invoice = await select_lines_by_invoice(conn, [invoice.id for invoice in invoices])
    return [
        InvoiceRow(invoice, record["customer_name"], by_invoice.get(invoice.id, []), int(record["paid"]))
        for invoice, record in zip(invoices, records, strict=True)
    ]
