"""The console's invoice and customer lists at any length: pages by keyset that reach every row once, and search
by number (its start or its end), customer name (any word's start), amount (read in the console's number
format) and, for customers, e-mail and tax id."""

from __future__ import annotations

import re

import asyncpg
import httpx
from bs4 import BeautifulSoup

from db.customers import insert_customer
from db.invoices import insert_invoice, insert_invoice_lines, void_invoice
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in
from web.console.listing import CUSTOMER_CHOICES, PAGE_SIZE


def _invoice_links(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [a.get_text(strip=True) for a in soup.select("td.card-title a")]


def _link(html: str, name: str) -> str | None:
    found = BeautifulSoup(html, "html.parser").find("a", string=name)
    return str(found["href"]) if found is not None else None


async def _walk(client: httpx.AsyncClient, url: str, older: str) -> list[list[str]]:
    """Every page from `url`, following the link to the next until there is none."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        answer = await client.get(next_url)
        assert answer.status_code == 200, answer.text
        pages.append(_invoice_links(answer.text))
        next_url = _link(answer.text, older)
        assert len(pages) < 10, "the pages never end"
    return pages


async def test_invoice_pages_reach_every_invoice_once_newest_first_within_a_status(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    ws = issued.workspace
    customer_id = issued.invoice.customer_id
    for _ in range(2 * PAGE_SIZE + 10):  # drafts: three pages of them, then the one open invoice
        await insert_invoice(conn, workspace_id=ws.id, customer_id=customer_id, currency="EUR", locale="en")
    # Many rows share one creation time (a bulk import): the id orders them, and no page boundary loses one.
    await conn.execute("UPDATE invoices SET created_at = date_trunc('minute', created_at) WHERE status = 'draft'")
    expected = [
        f"Draft #{row['id']}" if row["number"] is None else row["number"]
        for row in await conn.fetch("SELECT id, number FROM invoices ORDER BY created_at DESC, id DESC")
    ]
    await sign_in(client, conn, clock, (await account(conn, ws)).email)

    pages = await _walk(client, "/console/invoices", "Older invoices")
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 11]
    assert [name for page in pages for name in page] == expected

    drafts = await _walk(client, "/console/invoices?status=draft", "Older invoices")
    assert [name for page in drafts for name in page] == [name for name in expected if name.startswith("Draft")]
    second = await client.get("/console/invoices?status=draft&after=" + expected[PAGE_SIZE].split("#")[1])
    assert _link(second.text, "Newest invoices") == "/console/invoices?status=draft"

    # A page mark that is not an id, or is another workspace's invoice, shows no rows rather than an error.
    for mark in ("abc", "-1", "9" * 40, "1e5", "²", "٣", "0"):
        answer = await client.get(f"/console/invoices?after={mark}")
        assert answer.status_code == 200
        assert len(_invoice_links(answer.text)) == PAGE_SIZE  # ignored: the first page


async def test_invoices_are_found_by_number_customer_name_and_amount(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    muller = await factories.invoice(
        conn, ws=ws, buyer_name="Müller-Lüdenscheidt GmbH", lines=[factories.line("Audit", "1", 123450, "0")]
    )
    other = await factories.invoice(conn, ws=ws, buyer_name="Globex Corporation")
    yen = await factories.invoice(
        conn, ws=ws, currency="JPY", buyer_name="Kaisha KK", lines=[factories.line("Audit", "1", 123450, "0")]
    )
    assert muller.invoice.number and other.invoice.number and yen.invoice.number
    staff = await account(conn, ws)
    await sign_in(client, conn, clock, staff.email)

    async def found(text: str) -> set[str]:
        answer = await client.get("/console/invoices", params={"q": text})
        assert answer.status_code == 200, answer.text
        return set(_invoice_links(answer.text))

    assert await found(muller.invoice.number) == {muller.invoice.number}
    assert await found(muller.invoice.number.lower()[:-1]) >= {muller.invoice.number}  # its start, any case
    assert await found(other.invoice.number[-3:]) == {other.invoice.number}  # its end
    assert await found("lüdensch") == {muller.invoice.number}  # the start of a word of the name
    assert await found("GLOBEX corp") == {other.invoice.number}  # every word must match
    assert await found("1,234.50") == {muller.invoice.number}  # 123450 cents, not 123450 yen
    assert await found("123450") == {yen.invoice.number}  # whole yen
    assert await found("globex nothing") == set()
    assert "No invoice matches “globex nothing”." in (await client.get("/console/invoices?q=globex+nothing")).text

    # The console reads amounts in the teammate's own number format, and the English way as well.
    await conn.execute("UPDATE staff SET formats = 'de' WHERE id = $1", staff.id)
    assert await found("1.234,50 €") == {muller.invoice.number}
    assert await found("1234.50") == {muller.invoice.number}

    # The search keeps to the status filter, and the filter keeps the search.
    await void_invoice(conn, other.invoice.id, "Issued twice")
    answer = await client.get("/console/invoices", params={"q": "globex", "status": "open"})
    assert _invoice_links(answer.text) == []
    assert _link(answer.text, "Void") == "/console/invoices?q=globex&status=void"


HOSTILE_SEARCHES = [
    "1,1e99999",
    "1.1e99999",
    "1e5",
    "%",
    "_",
    "\\",
    "'",
    "a:*|b",
    "!(",
    "' OR 1=1 --",
    "ä" * 300,
    "\x00x",
    "12,,5",
    "€",
    "E'\\x'",
]


async def test_hostile_searches_answer_a_page_and_find_nothing_they_should_not(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    await sign_in(client, conn, clock, (await account(conn, issued.workspace)).email)
    for text in HOSTILE_SEARCHES:
        for path in ("/console/invoices", "/console/customers"):
            answer = await client.get(path, params={"q": text})
            assert answer.status_code == 200, (path, text, answer.text)
            assert answer.headers["content-security-policy"]
            assert _invoice_links(answer.text) == [], (path, text)  # nothing of the one invoice or customer
    for query in ("after=²", "customer=²", "customer=0", "after=%C2%B2&q=x"):
        for path in ("/console/invoices", "/console/customers"):
            assert (await client.get(f"{path}?{query}")).status_code == 200, (path, query)


async def test_customer_pages_and_search_by_name_email_and_tax_id(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    for n in range(PAGE_SIZE + 5):
        await insert_customer(conn, workspace_id=ws.id, name=f"Customer {n:03d}", email=f"ap{n}@buyer{n}.example")
    await insert_customer(conn, workspace_id=ws.id, name="Zeta O'Brien", email="zeta@obrien.ie", tax_id="IE6388047V")
    await sign_in(client, conn, clock, (await account(conn, ws)).email)

    first = await client.get("/console/customers")
    names = [a.get_text() for a in BeautifulSoup(first.text, "html.parser").select("td.card-title a")]
    assert names == [f"Customer {n:03d}" for n in range(PAGE_SIZE)]
    more = _link(first.text, "More customers")
    assert more is not None
    rest = await client.get(more)
    names = [a.get_text() for a in BeautifulSoup(rest.text, "html.parser").select("td.card-title a")]
    assert names == [f"Customer {n:03d}" for n in range(PAGE_SIZE, PAGE_SIZE + 5)] + ["Zeta O'Brien"]
    assert _link(rest.text, "More customers") is None

    async def found(text: str) -> list[str]:
        answer = await client.get("/console/customers", params={"q": text})
        assert answer.status_code == 200
        return [a.get_text() for a in BeautifulSoup(answer.text, "html.parser").select("td.card-title a")]

    assert await found("o'brien") == ["Zeta O'Brien"]
    assert await found("zeta@obrien.ie") == ["Zeta O'Brien"]  # the whole address
    assert await found("obri") == ["Zeta O'Brien"]  # a word of the name or the address's domain
    assert await found("ie638") == ["Zeta O'Brien"]  # the start of the tax id
    assert await found("ap7@") == ["Customer 007"]
    assert await found("customer 05") == [f"Customer {n:03d}" for n in range(50, 55)]


async def test_a_customer_page_links_to_all_their_invoices_when_it_shows_only_the_newest(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    customer_id = issued.invoice.customer_id
    for _ in range(PAGE_SIZE):
        draft = await insert_invoice(
            conn, workspace_id=issued.workspace.id, customer_id=customer_id, currency="EUR", locale="en"
        )
        await insert_invoice_lines(conn, draft.id, [factories.line()])
    other = await factories.invoice(conn, ws=issued.workspace, buyer_name="Someone Else")
    await sign_in(client, conn, clock, (await account(conn, issued.workspace)).email)

    page = await client.get(f"/console/customers/{customer_id}")
    assert len(_invoice_links(page.text)) == PAGE_SIZE
    everything = _link(page.text, "All invoices of Customer SARL")
    assert everything == f"/console/invoices?customer={customer_id}"
    pages = await _walk(client, everything, "Older invoices")
    listed = [name for page in pages for name in page]
    assert len(listed) == PAGE_SIZE + 1 and issued.invoice.number in listed
    assert other.invoice.number not in listed
    assert re.search(f'name="customer" value="{customer_id}"', (await client.get(everything)).text)


async def test_the_draft_builder_finds_any_customer_and_always_offers_the_drafts_own(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    draft = await factories.invoice(conn, issue=False)  # for "Customer SARL", after every "Acme" by name
    ws = draft.workspace
    for n in range(CUSTOMER_CHOICES + 5):
        await insert_customer(conn, workspace_id=ws.id, name=f"Acme {n:03d}")
    await sign_in(client, conn, clock, (await account(conn, ws)).email)

    async def offered(**params: str) -> tuple[list[tuple[str, bool]], BeautifulSoup]:
        answer = await client.get(f"/console/invoices/{draft.invoice.id}", params=params)
        assert answer.status_code == 200
        page = BeautifulSoup(answer.text, "html.parser")
        options = page.select("select#customer_id option")
        return [(option.get_text(), option.has_attr("selected")) for option in options], page

    options, page = await offered()
    # The draft's own customer by name (not its id), then the first customers by name.
    assert options[0] == ("Customer SARL", True)
    assert [name for name, _ in options[1:]] == [f"Acme {n:03d}" for n in range(CUSTOMER_CHOICES)]
    hint = page.select_one("#customer_id-hint").get_text()
    assert f"The first {CUSTOMER_CHOICES} customers" in hint and "Find a customer" in hint  # the draft's own aside
    assert page.select_one("form[role=search] input#customer-search") is not None

    options, page = await offered(customers="acme 204")
    assert options == [("Customer SARL", True), ("Acme 204", False)]
    options, page = await offered(customers="nobody")
    assert options == [("Customer SARL", True)]
    assert "No customer matches “nobody”" in page.select_one("#customer_id-hint").get_text()
    for hostile in ("%", "\x00", "a" * 5000, "'; DROP TABLE customers; --"):
        options, _ = await offered(customers=hostile)
        assert options[0] == ("Customer SARL", True)
