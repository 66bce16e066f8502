"""The public invoice page: structure, locale, modes, Not Found cases, headers and the view beacon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup

from db.activity import select_activity
from db.invoices import void_invoice
from tests import factories
from tests.conftest import MovableClock
from web.i18n.catalogs import texts_for

PORTAL_HEADERS = {
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-robots-tag": "noindex, nofollow",
    "x-content-type-options": "nosniff",
}


def soup(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def fact(page: BeautifulSoup, label: str) -> str:
    summary = page.find(id="invoice-summary")
    assert summary is not None
    for term in summary.select("dl.facts dt"):
        if term.get_text(strip=True) == label:
            return term.find_next_sibling("dd").get_text(strip=True)
    raise AssertionError(f"no fact {label!r}")


async def test_portal_page_shows_summary_and_document(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    response = await client.get(issued.url, headers={"Accept-Language": "en-US"})
    assert response.status_code == 200
    page = soup(response)
    assert page.find("h1").get_text(strip=True) == f"Invoice {issued.invoice.number}"
    assert fact(page, "From") == "Acme Billing GmbH"
    assert fact(page, "Billed to") == "Customer SARL"
    assert fact(page, "Invoice number") == issued.invoice.number
    # 1 x 100.00 @19% + 2 x 25.00 @7%: net 150.00, VAT 19.00 + 3.50, total 172.50
    assert fact(page, "Total") == "€172.50"
    assert fact(page, "Amount paid") == "€0.00"
    assert fact(page, "Amount due") == "€172.50"
    assert page.select_one(".badge").get_text(strip=True) == "Open"
    document = page.select_one("#preview article.invoice-doc")
    assert document is not None
    rows = document.select("table.doc-lines tbody tr")
    assert [r.select_one("td.desc").get_text(strip=True) for r in rows] == ["Consulting", "Support"]
    assert [th.get_text(strip=True) for th in document.select("table.doc-lines thead th")] == [
        "Description", "Quantity", "Unit price", "VAT rate", "Amount",
    ]  # fmt: skip
    assert factories.SELLER_VAT in document.get_text() and factories.BUYER_VAT in document.get_text()
    download = page.find("a", string="Download PDF")
    assert download["href"] == f"{issued.url}/pdf?download=1"


async def test_portal_page_is_accessible_by_structure(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    page = soup(await client.get(issued.url))
    assert page.html["lang"] == "en"
    assert page.find("main", id="main") is not None
    assert page.find("header") is not None and page.find("footer") is not None
    assert page.select_one("a.skip-link")["href"] == "#main"
    assert len(page.find_all("h1")) == 1
    for section in page.select("section[aria-labelledby]"):
        assert page.find(id=section["aria-labelledby"]) is not None
    assert page.select_one("nav[aria-label]") is not None
    assert all(th.get("scope") for th in page.select("table th"))
    assert page.select_one("table.doc-lines caption") is not None
    assert page.find("meta", attrs={"name": "viewport"}) is not None


async def test_portal_summary_follows_reader_locale(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn, locale="en")
    german = soup(await client.get(issued.url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}))
    assert fact(german, "Gesamtbetrag") == "172,50\xa0€"
    assert "." in fact(german, "Rechnungsdatum")  # e.g. 21.11.2026
    # No usable Accept-Language: the invoice's own locale.
    fallback = soup(await client.get(issued.url, headers={"Accept-Language": "zz-ZZ, *;q=0.1"}))
    assert fact(fallback, "Total") == "€172.50"
    # The document itself stays in the invoice's locale whoever reads it.
    assert "€100.00" in german.select_one("table.doc-lines").get_text()


async def test_portal_zero_and_three_decimal_currencies(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    jpy = await factories.invoice(conn, currency="JPY", locale="ja_JP", lines=[factories.line("本", "3", 1234, "10")])
    page = soup(await client.get(jpy.url, headers={"Accept-Language": "ja"}))
    assert fact(page, texts_for("ja").gettext("Total")) == "￥4,072"  # 3702 + 10% VAT (370) = 4072
    kwd = await factories.invoice(
        conn, ws=jpy.workspace, currency="KWD", lines=[factories.line("Freight", "1", 1234567, "0")]
    )
    page = soup(await client.get(kwd.url, headers={"Accept-Language": "en"}))
    assert fact(page, "Total") == "KWD\xa01,234.567"


@pytest.mark.parametrize("mode", ["document", "pdf"])
async def test_portal_preview_modes_have_own_urls_and_fragments(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mode: str
) -> None:
    issued = await factories.invoice(conn)
    full = await client.get(f"{issued.url}?view={mode}")
    fragment = await client.get(f"{issued.url}?view={mode}", headers={"HX-Request": "true"})
    for response in (full, fragment):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["vary"]
    assert soup(full).find("html") is not None
    fragment_page = soup(fragment)
    assert fragment_page.find("html") is None
    root = fragment_page.find(True)
    assert root.get("id") == "preview"
    assert root.select_one(f"#mode-{mode}")["aria-current"] == "page"
    if mode == "pdf":
        obj = root.find("object")
        assert obj["data"] == f"{issued.url}/pdf" and obj["type"] == "application/pdf"
        assert root.find("a", href=f"{issued.url}/pdf") is not None  # fallback for browsers without a PDF viewer
    else:
        assert root.select_one("article.invoice-doc") is not None
    # A history restore wants the whole page even though htmx sends it.
    restore = await client.get(issued.url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert soup(restore).find("html") is not None


async def test_portal_unknown_mode_falls_back_to_document(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    page = soup(await client.get(f"{issued.url}?view=<script>"))
    assert page.select_one("#mode-document")["aria-current"] == "page"
    assert "<script>" not in str(page.select_one("#preview"))


async def test_portal_not_found_cases_are_indistinguishable(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    live = await factories.invoice(conn)
    expired = await factories.invoice(conn, ws=live.workspace, expires_at=factories.yesterday())
    revoked = await factories.invoice(conn, ws=live.workspace, revoked=True)
    draft = await factories.invoice(conn, ws=live.workspace, issue=False)
    paths = [
        "/i/unknown-token-aaaaaaaaaaaaaaaaaaaaaa", expired.url, revoked.url, draft.url,
        "/i/" + "A" * 5000, "/i/%E2%80%AE%F0%9F%92%A9", "/i/'%20OR%201=1--",
    ]  # fmt: skip
    bodies = set()
    for path in paths:
        for suffix in ("", "/pdf", "/pdf?download=1", "?view=pdf"):
            response = await client.get(path + suffix)
            assert response.status_code == 404, path + suffix
            assert soup(response).find("h1").get_text(strip=True) == "Invoice Not Found"
            assert response.headers["cache-control"] == "no-store"
            # The fresh-link form posts back to the address typed (its own token): the one difference allowed.
            bodies.add(re.sub(r'action="[^"]*"', 'action=""', response.text))
    assert len(bodies) == 1  # no hint which case it was
    for dead in (expired, revoked, draft):
        assert (await client.post(f"{dead.url}/views")).status_code == 404


async def test_portal_security_headers_on_every_response(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    for path in (issued.url, f"{issued.url}?view=pdf", f"{issued.url}/pdf", "/i/nope", "/healthz", "/nowhere"):
        response = await client.get(path)
        for name, value in PORTAL_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp


async def test_portal_html_has_no_inline_script_or_style(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    page = soup(await client.get(issued.url))
    assert all(script.get("src") for script in page.find_all("script"))
    assert page.find("style") is None and page.find(style=True) is None
    assert not any(attr.startswith(("on", "hx-on")) for tag in page.find_all(True) for attr in tag.attrs)
    config = page.find("meta", attrs={"name": "htmx-config"})["content"]
    assert (
        '"allowEval":false' in config
        and '"historyCacheSize":0' in config
        and '"includeIndicatorStyles":false' in config
    )


async def test_portal_escapes_html_in_invoice_text(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    issued = await factories.invoice(conn, lines=[factories.line(evil)], buyer_name=evil)
    response = await client.get(issued.url)
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text
    assert evil in soup(response).select_one("td.desc").get_text()


async def test_portal_void_and_paid_states(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await void_invoice(conn, issued.invoice.id, "Wrong address")
    page = soup(await client.get(issued.url))
    assert page.select_one(".badge").get_text(strip=True) == "Void"
    assert "Wrong address" in page.select_one(".notice-void").get_text()
    assert fact(page, "Amount due") == "€0.00"


async def test_portal_view_is_counted_only_by_the_browser_beacon(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    await client.get(issued.url)
    await client.head(issued.url)
    assert await select_activity(conn, issued.invoice.id) == []
    page = soup(await client.get(issued.url))
    beacon = page.find(attrs={"hx-trigger": "load"})
    assert beacon["hx-post"] == f"{issued.url}/views"
    response = await client.post(beacon["hx-post"], headers={"HX-Request": "true", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 204
    assert [a.kind for a in await select_activity(conn, issued.invoice.id)] == ["viewed"]


async def test_portal_cross_site_post_is_refused(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        response = await client.post(f"{issued.url}/views", headers=headers)
        assert response.status_code == 403
    assert await select_activity(conn, issued.invoice.id) == []
    same_origin = await client.post(f"{issued.url}/views", headers={"Origin": "http://testserver"})
    assert same_origin.status_code == 204


async def test_portal_wrong_method_is_a_clear_error(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    response = await client.delete(issued.url)
    assert response.status_code == 405
    assert "Traceback" not in response.text


async def test_portal_healthz_pings_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "streams": 0}


async def test_portal_link_expiry_and_overdue_follow_the_app_clock(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    """One clock: the injected one decides when a link expires (the cached entry is checked against it, and so is
    the database read that follows) and what "today" is for the overdue badge, not PostgreSQL's now() or the
    server's time zone."""
    issued = await factories.invoice(conn, expires_at=datetime.now(UTC) + timedelta(hours=2))
    page = soup(await client.get(issued.url))  # now in the page cache
    assert page.select_one(".badge-overdue") is None
    clock.offset = timedelta(days=40)  # past the due date (30 days) and the link's expiry (2 hours)
    expired = await client.get(issued.url)
    assert expired.status_code == 404 and "Invoice Not Found" in expired.text
    clock.offset = timedelta(days=31)
    await conn.execute("UPDATE portal_links SET expires_at = NULL WHERE invoice_id = $1", issued.invoice.id)
    overdue = soup(await client.get(issued.url))
    assert overdue.select_one(".badge-overdue") is not None
