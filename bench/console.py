"""Console benchmark (`make bench`): what a billing teammate waits for while building an invoice.

A fresh database on the system PostgreSQL (`invoice_portal_bench_console`) with the demo data and its console
accounts, one uvicorn worker for the portal and one for a bare Starlette app. The demo billing account signs in
for real (password, then a TOTP code computed from its stored secret), then, sequentially on one keep-alive
connection each:
- bare Starlette GET / (the floor of any request here);
- GET /console/invoices (the list: every demo invoice with its totals);
- POST /console/invoices/{id}/draft as htmx autosave with 3 lines and with 50 lines (validate everything, save
  the draft in one transaction, render the out-of-band totals and messages);
- GET /console/inbox/list (the support inbox fragment a doorbell makes the page fetch).

Usage: .venv/bin/python -m bench.console [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
from http.client import HTTPConnection
from urllib.parse import urlencode

import asyncpg
import pyotp

from bench.payments import connection, report, timed
from bench.portal import BENCH_SECRET_KEY, bench_database, prepare, start_bare_and_portal
from web.dev.demo import DEMO_PASSWORD, DEMO_STAFF
from web.secret_box import SecretBox

BENCH_DB = "invoice_portal_bench_console"
FORM = "application/x-www-form-urlencoded"


class Browser:
    """One keep-alive connection that keeps the console cookie, like a signed-in tab."""

    def __init__(self, conn: HTTPConnection) -> None:
        self.conn, self.cookie, self.csrf = conn, "", ""

    def send(
        self, method: str, path: str, form: dict[str, str | list[str]] | None = None, **headers: str
    ) -> tuple[int, str]:
        body = urlencode(form or {}, doseq=True).encode()
        if self.cookie:
            headers["Cookie"] = self.cookie
        if form is not None:
            headers["Content-Type"] = FORM
        self.conn.request(method, path, body=body or None, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for value in response.headers.get_all("set-cookie") or []:
            if value.startswith("console_session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, text


async def totp_secret(url: str, email: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return SecretBox(BENCH_SECRET_KEY).open(
            await conn.fetchval("SELECT totp_secret FROM staff WHERE email = $1", email)
        )
    finally:
        await conn.close()


def sign_in(tab: Browser, url: str, email: str) -> None:
    status, _ = tab.send("POST", "/console/sign-in", {"email": email, "password": DEMO_PASSWORD})
    assert status == 303, status
    status, page = tab.send("GET", "/console/sign-in/code")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert status == 200 and csrf, status
    code = pyotp.TOTP(asyncio.run(totp_secret(url, email))).now()
    status, _ = tab.send("POST", "/console/sign-in/code", {"csrf": csrf.group(1), "code": code})
    assert status == 303, status
    tab.csrf = csrf.group(1)


def draft_form(customer_id: int, lines: int) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "action": "save", "customer_id": str(customer_id), "currency": "EUR", "locale": "en_IE", "issue_date": "",
        "due_date": "", "notes": "", "payment_terms": "Net 30", "line_key": [f"line{i:04d}" for i in range(lines)],
    }  # fmt: skip
    for i in range(lines):
        prefix = f"line-line{i:04d}-"
        form[prefix + "description"] = f"Item {i}"
        form[prefix + "quantity"] = "1.5"
        form[prefix + "unit_price"] = f"{10 + i}.25"
        form[prefix + "tax_rate"] = "19" if i % 2 else "7"
    return form


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100, help="samples per measurement (default 100)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to see that it works")
    args = parser.parse_args(argv)
    count = 3 if args.quick else args.count
    print(f"Console benchmark: {os.cpu_count()} CPUs, {count} sequential samples each, one uvicorn worker per app")
    with bench_database(BENCH_DB, "console-bench-") as (url, workdir, servers):
        asyncio.run(prepare(url))
        env = {**os.environ, "PDF_WORKERS": "1", "DATABASE_URL": url}
        bare_server, portal_server = start_bare_and_portal(env, workdir, servers)
        bare, tab = connection(bare_server.base), Browser(connection(portal_server.base))
        sign_in(tab, url, DEMO_STAFF[0][0])
        customer_id = asyncio.run(_first_customer(url))
        status, _ = tab.send("POST", "/console/invoices", {"csrf": tab.csrf, "customer_id": str(customer_id)})
        assert status == 303, status
        draft_id = asyncio.run(_newest_draft(url))
        hx = {"HX-Request": "true", "X-CSRF-Token": tab.csrf}
        for _ in range(20):  # warm up both
            bare.request("GET", "/")
            bare.getresponse().read()
            tab.send("GET", "/console/invoices")

        def expect(status_and_text: tuple[int, str], status: int = 200) -> None:
            assert status_and_text[0] == status, status_and_text[0]

        def get_bare(_: int) -> None:
            bare.request("GET", "/")
            bare.getresponse().read()

        floor = timed(count, get_bare)
        report("bare Starlette GET /", floor)
        base = statistics.median(floor)
        report(
            "GET /console/invoices (list)", timed(count, lambda _: expect(tab.send("GET", "/console/invoices"))), base
        )
        path = f"/console/invoices/{draft_id}/draft"
        for lines in (3, 50):
            form = draft_form(customer_id, lines)
            samples = timed(count, lambda _, form=form: expect(tab.send("POST", path, form, **hx)))  # type: ignore[misc]
            report(f"POST draft autosave, {lines} lines (htmx)", samples, base)
        report(
            "GET /console/inbox/list (fragment)",
            timed(count, lambda _: expect(tab.send("GET", "/console/inbox/list", **hx))),
            base,
        )


async def _first_customer(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT min(id) FROM customers"))
    finally:
        await conn.close()


async def _newest_draft(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT max(id) FROM invoices WHERE status = 'draft'"))
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
