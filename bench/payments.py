"""Payment benchmark (`make bench`): how long a customer waits to start paying, and how soon a payment shows.

1. A fresh database on the system PostgreSQL (`invoice_portal_bench_pay`), demo data, localstripe on 127.0.0.1,
   one uvicorn worker for the portal (wired to localstripe) and one for a bare Starlette app.
2. Latency, sequential requests on one keep-alive connection each:
   - bare Starlette GET / (the floor of any request here);
   - PaymentIntent creation straight through the SDK against localstripe (the test double's own cost);
   - POST /i/{token}/payments: amount validation, the attempt row, the PaymentIntent, the card step rendered.
3. Webhook receipt to updated summary: a signed `payment_intent.succeeded` is posted for a pending attempt, then
   GET /i/{token}/summary?since=<version> is asked until it answers with the new amount due. That is the path
   of the change: event applied in one transaction, NOTIFY, cache invalidated, summary re-rendered. (A browser
   sees it at its next poll, every 3 s.)

Usage: .venv/bin/python -m bench.payments [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import http.client
import json
import os
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import asyncpg

from bench.portal import bench_database, prepare, start_bare_and_portal
from db.payments import insert_card_attempt, set_payment_intent
from web.dev.local_stripe import PUBLISHABLE_KEY, SECRET_KEY, flush, localstripe
from web.invoices.links import token_hash
from web.payments.checkout import MAX_ATTEMPTS_PER_INVOICE
from web.stripe.gateway import StripeGateway

BENCH_DB = "invoice_portal_bench_pay"
WEBHOOK_SECRET = "whsec_bench"


def report(name: str, samples_ms: list[float], floor_ms: float | None = None) -> None:
    ordered = sorted(samples_ms)
    p50, p95 = statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]
    ratio = f"  {p50 / floor_ms:6.1f}x bare" if floor_ms else ""
    print(f"  {name:44s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {ordered[-1]:7.2f} ms{ratio}")


def timed(count: int, action: Callable[[int], None]) -> list[float]:
    samples = []
    for index in range(count):
        start = time.perf_counter()
        action(index)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def connection(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, bytes]:
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


async def create_intents_directly(stripe_base: str, count: int) -> list[float]:
    gateway = StripeGateway(SECRET_KEY, api_base=stripe_base)
    samples = []
    for index in range(count):
        start = time.perf_counter()
        await gateway.create_intent(amount=100, currency="EUR", metadata={}, idempotency_key=f"bench-{index}")
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def pending_attempts(url: str, token_digest: bytes, count: int) -> tuple[int, list[str]]:
    """`count` card attempts of 1.00 on the demo invoice, each with its own (fake) intent id."""
    conn = await asyncpg.connect(url)
    try:
        invoice_id = await conn.fetchval("SELECT invoice_id FROM portal_links WHERE token_hash = $1", token_digest)
        intents = []
        for _ in range(count):
            payment, _ = await insert_card_attempt(
                conn, invoice_id=invoice_id, amount=100, currency="EUR", attempt_key=secrets.token_urlsafe(18),
                client="bench", now=datetime.now(UTC), stripe_account_id=None,
            )  # fmt: skip
            intent_id = f"pi_bench_{payment.id}"
            await set_payment_intent(conn, payment.id, intent_id)
            intents.append(intent_id)
        return invoice_id, intents
    finally:
        await conn.close()


async def age_attempts(url: str) -> None:
    """Move the attempts made so far out of the hourly window, so the next batch stays under the attempt limits
    (20 per invoice, 30 per client): the limits are counted on every request, which is what is measured."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE payments SET created_at = created_at - interval '2 hours' WHERE method = 'card'")
    finally:
        await conn.close()


async def invoice_version(url: str, invoice_id: int) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT version FROM invoices WHERE id = $1", invoice_id))
    finally:
        await conn.close()


def signed_event(intent_id: str) -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    intent = {"id": intent_id, "object": "payment_intent", "amount": 100, "currency": "eur"}
    event = {"id": f"evt_{intent_id}", "type": "payment_intent.succeeded", "created": now, "data": {"object": intent}}
    body = json.dumps(event).encode()
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={now},v1={mac}", "Content-Type": "application/json"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100, help="samples per measurement (default 100)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to see that it works")
    args = parser.parse_args(argv)
    count = 3 if args.quick else args.count
    print(f"Payment benchmark: {os.cpu_count()} CPUs, {count} sequential samples each, one uvicorn worker per app")
    with bench_database(BENCH_DB, "payments-bench-") as (url, workdir, servers), localstripe() as stripe_base:
        tokens = asyncio.run(prepare(url))
        env = {**os.environ, "PDF_WORKERS": "1", "DATABASE_URL": url, "STRIPE_SECRET_KEY": SECRET_KEY,
               "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "STRIPE_API_BASE": stripe_base, "STRIPE_JS_URL": f"{stripe_base}/js.stripe.com/v3/"}  # fmt: skip
        bare_server, portal_server = start_bare_and_portal(env, workdir, servers, "web.dev.local_stripe:app_from_env")
        bare, portal = connection(bare_server.base), connection(portal_server.base)
        page = f"/i/{tokens['open']}"
        for _ in range(20):  # warm both (first template render, pool connections)
            request(bare, "GET", "/")
            request(portal, "GET", page)

        print("\n== Starting a card payment ==")
        floor = timed(count, lambda _: request(bare, "GET", "/"))
        report("bare Starlette GET /", floor)
        flush(stripe_base)
        report("PaymentIntent create, SDK -> localstripe", asyncio.run(create_intents_directly(stripe_base, count)))
        flush(stripe_base)
        form_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "Accept-Language": "en",
        }

        def start_payment(_: int) -> None:
            body = urlencode({"amount": "1.00", "attempt_key": secrets.token_urlsafe(18)}).encode()
            status, _answer = request(portal, "POST", f"{page}/payments", body, **form_headers)
            assert status == 200, status

        samples: list[float] = []
        while len(samples) < count:
            asyncio.run(age_attempts(url))  # untimed, between batches
            samples += timed(min(MAX_ATTEMPTS_PER_INVOICE, count - len(samples)), start_payment)
        report("POST /i/{t}/payments (validate, limits, row, intent)", samples, statistics.median(floor))

        print("\n== Webhook receipt to updated summary ==")
        digest = token_hash(tokens["open"])
        invoice_id, intents = asyncio.run(pending_attempts(url, digest, count))
        poller = connection(servers[1].base)
        webhook_ms, visible_ms = [], []
        for intent_id in intents:
            version = asyncio.run(invoice_version(url, invoice_id))
            body, headers = signed_event(intent_id)
            start = time.perf_counter()
            status, _answer = request(portal, "POST", "/webhooks/stripe", body, **headers)
            assert status == 200, status
            webhook_ms.append((time.perf_counter() - start) * 1000)
            while request(poller, "GET", f"{page}/summary?since={version}")[0] == 204:
                pass
            visible_ms.append((time.perf_counter() - start) * 1000)
        report("POST /webhooks/stripe (verify, apply, commit)", webhook_ms)
        report("webhook sent -> new summary served", visible_ms)


if __name__ == "__main__":
    main()
