"""E-invoice benchmark (`make bench`): what EN 16931 costs per invoice.

A fresh database on the system PostgreSQL (`invoice_portal_bench_einvoice`) with the demo data. Then:
- in-process, per demo invoice: building the CII and the UBL XML from the document, and validating each the way
  the tests do (XSD, then the EN 16931 Schematron in Saxon);
- the extra cost of a Factur-X PDF over today's plain PDF: the same HTML rendered both ways in one warmed
  WeasyPrint worker (PDF/A-3b, XMP, the XML attached), and the sizes;
- over HTTP, one uvicorn worker each: GET /i/{token}/e-invoice/ubl against a bare Starlette GET /.

Usage: .venv/bin/python -m bench.einvoice [--count N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from bench.payments import connection, report, request, timed
from bench.portal import ROOT, STATIC, bench_database, prepare, start_bare_and_portal
from db.links import select_live_link
from db.rows import init_connection
from devtools.einvoice_rules import Validator
from web.einvoice.cii import cii_xml
from web.einvoice.model import einvoice_of
from web.einvoice.ubl import ubl_xml
from web.http.templating import build_templates
from web.invoices.documents import InvoiceDocument, load_document
from web.invoices.links import token_hash
from web.invoices.logos import logo_data_uri
from web.invoices.printing import print_html
from web.pdf import PdfRenderer

BENCH_DB = "invoice_portal_bench_einvoice"
LABELS = ("open", "long", "xrechnung", "reverse-charge")


def milliseconds(count: int, action: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def median(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} ms"


async def documents(url: str, tokens: dict[str, str]) -> tuple[dict[str, InvoiceDocument], dict[str, str]]:
    """The demo invoices' documents and their print HTML (what web/invoices/printing.py renders)."""
    templates = build_templates(ROOT / "templates", STATIC, static_path=lambda path: f"/static/{path}")
    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)
        found: dict[str, InvoiceDocument] = {}
        htmls: dict[str, str] = {}
        for label in LABELS:
            live = await select_live_link(conn, token_hash(tokens[label]), datetime.now(UTC))
            assert live is not None, f"demo invoice {label!r} has no live link"
            found[label] = document = await load_document(conn, live[0])
            htmls[label] = print_html(templates, document, await logo_data_uri(conn, document.logo_sha))
        return found, htmls
    finally:
        await conn.close()


def report_xml(found: dict[str, InvoiceDocument], count: int) -> None:
    print(f"XML per invoice (median of {count}), then XSD + EN 16931 Schematron in Saxon:")
    rules = Validator()
    start = time.perf_counter()
    first = cii_xml(einvoice_of(found["open"]))
    rules.cii(first), rules.ubl(ubl_xml(einvoice_of(found["open"])))  # compiles both rule sets once
    print(f"  compiling both Schematron rule sets once: {(time.perf_counter() - start) * 1000:7.0f} ms")
    for label, document in found.items():
        lines = len(document.lines)
        cii = milliseconds(count, lambda document=document: cii_xml(einvoice_of(document)))  # type: ignore[misc]
        ubl = milliseconds(count, lambda document=document: ubl_xml(einvoice_of(document)))  # type: ignore[misc]
        cii_bytes, ubl_bytes = cii_xml(einvoice_of(document)), ubl_xml(einvoice_of(document))
        check_cii = milliseconds(count, lambda xml=cii_bytes: rules.cii(xml))  # type: ignore[misc]
        check_ubl = milliseconds(count, lambda xml=ubl_bytes: rules.ubl(xml))  # type: ignore[misc]
        print(
            f"  {label:<15} {lines:>3} lines  build CII {median(cii)}  UBL {median(ubl)}"
            f"  validate CII {median(check_cii)}  UBL {median(check_ubl)}"
        )


async def report_factur_x(found: dict[str, InvoiceDocument], htmls: dict[str, str], count: int) -> None:
    print(f"PDF render, plain vs Factur-X (PDF/A-3b + XML attached), one warm worker, median of {count}:")
    stylesheets = [STATIC / "css" / "document.css", STATIC / "css" / "pdf.css"]
    renderer = PdfRenderer(workers=1, stylesheets=stylesheets, base_dir=STATIC)
    try:
        await renderer.warm_up()
        for label in ("open", "long"):
            xml = cii_xml(einvoice_of(found[label]))
            plain, embedded = [], []
            sizes = (0, 0)
            for _ in range(count):
                start = time.perf_counter()
                pdf = await renderer.render(htmls[label])
                plain.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                factur_x = await renderer.render(htmls[label], xml)
                embedded.append((time.perf_counter() - start) * 1000)
                sizes = (len(pdf), len(factur_x))
            extra = statistics.median(embedded) - statistics.median(plain)
            ratio = statistics.median(embedded) / statistics.median(plain)
            print(
                f"  {label:<5} plain {median(plain)} {sizes[0] / 1024:6.1f} KB   Factur-X {median(embedded)}"
                f" {sizes[1] / 1024:6.1f} KB   extra {extra:6.1f} ms ({ratio:.2f}x)"
            )
    finally:
        renderer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20, help="samples per in-process measurement (default 20)")
    parser.add_argument("--quick", action="store_true", help="a few samples of each, to see that it runs")
    args = parser.parse_args(argv)
    count = 2 if args.quick else args.count
    print(f"E-invoice benchmark: {os.cpu_count()} CPUs, {count} samples each")
    with bench_database(BENCH_DB, "einvoice-bench-") as (url, workdir, servers):
        tokens = asyncio.run(prepare(url))
        found, htmls = asyncio.run(documents(url, tokens))
        report_xml(found, count)
        asyncio.run(report_factur_x(found, htmls, 1 if args.quick else max(2, count // 4)))

        env = {**os.environ, "PDF_WORKERS": "1", "DATABASE_URL": url, "RECEIPT_MAIL_SECONDS": "0"}
        bare_server, portal_server = start_bare_and_portal(env, workdir, servers)
        bare, portal = connection(bare_server.base), connection(portal_server.base)
        samples = 10 if args.quick else 5 * args.count
        for _ in range(10):
            request(bare, "GET", "/")
            request(portal, "GET", f"/i/{tokens['open']}/e-invoice/ubl")
        print(f"HTTP, one keep-alive connection, {samples} sequential requests:")
        floor = timed(samples, lambda _: request(bare, "GET", "/"))
        report("bare Starlette GET /", floor)
        for kind in ("ubl", "cii"):
            path = f"/i/{tokens['open']}/e-invoice/{kind}"
            status, _ = request(portal, "GET", path)
            assert status == 200, (status, path)
            report(
                f"GET /i/{{token}}/e-invoice/{kind}",
                timed(samples, lambda _, p=path: request(portal, "GET", p)),
                statistics.median(floor),
            )  # type: ignore[misc]


if __name__ == "__main__":
    main()
