"""The hostile-input sweep: every route of the route table, every method, hypothesis-made path parameters, query
strings, headers and bodies in every framing (form, multipart, JSON, chunked, truncated, oversized, lying or
non-numeric Content-Length, invalid UTF-8, NUL, locale digits, bidi controls, signed and unsigned webhook events).

For every answer: never a 5xx, never a traceback or an internal name, always the security headers, and a
refused request (4xx) writes no row. New routes join automatically (the table is read from the app). The CI run
sends a fifth of the profile's examples per route; `pytest tests/test_sweep.py --hypothesis-profile=deep` more.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from db.comment_access import insert_session as insert_comment_session
from db.staff import complete_session, insert_session
from tests import factories
from tests.conftest import DATA_TABLES, WEBHOOK_SECRET
from tests.console import account
from tests.hostile import FIELD_NAMES, QUERY_NAMES, HostileRequest, body_and_headers, header_text, nasty_text, send_raw
from web.comments.form import SESSION_COOKIE as WRITER_COOKIE
from web.console.auth import SESSION_COOKIE as STAFF_COOKIE
from web.invoices.links import token_hash
from web.routes import build_routes
from web.settings import PROJECT_ROOT

EXAMPLES_PER_ROUTE = max(10, settings.default.max_examples // 5)
OTHER_METHODS = ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"]
# A refused try is counted on purpose, that is how the attempt limits work: failed sign-ins, wrong e-mail codes
# (comment_codes.wrong_tries), wrong TOTP codes (comment_sessions.totp_failures, the session ended at the limit),
# and the TOTP prompt starting an enrolment's secret before the first code is right.
WRITTEN_WHEN_REFUSED = {"staff_sign_in_failures", "comment_codes", "comment_sessions", "totp_enrolments"}
# The draft builder saves what was typed even when it marks mistakes (422), so the billing user loses nothing:
# only the send is refused.
SAVED_AS_TYPED = {"console_draft_save": {"invoices", "invoice_lines"}}
INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"|asyncpg\.|starlette\.|\bweb\.[a-z_]+\.[a-z_]+|"
    r"\bdb\.[a-z_]+\.[a-z_]+|Exception:|Error:"
)
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def _route_table() -> list[tuple[str, str, str]]:
    """(name, path template, method) for every route; the static mount as one path-taking route."""
    table = []
    for route in build_routes(PROJECT_ROOT / "static"):
        if isinstance(route, Route):
            table += [(route.name, route.path, method) for method in sorted(route.methods or ()) if method != "HEAD"]
        elif isinstance(route, Mount):
            table.append((route.name, route.path + "/{path}", "GET"))
    return table


ROUTES = _route_table()


@dataclass
class World:
    """What the hostile requests aim at: a real invoice with its link, a signed-in billing teammate, and ids of
    another workspace (which must stay out of reach)."""

    app: Any
    token: str
    ids: dict[str, str]
    staff_id: int
    cookie: str
    csrf: str
    writer: str  # a comment writer session's cookie on the invoice (the customer, e-mail confirmed)


async def _staff_session(conn: asyncpg.Connection, staff_id: int) -> tuple[str, str]:
    """A signed-in session the way the two sign-in steps leave it (web/console/auth.py), without the clock dance."""
    now = datetime.now(UTC)
    csrf, pending, token = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = await insert_session(
        conn, token_hash=token_hash(pending), staff_id=staff_id, csrf_token=csrf, user_agent="sweep", now=now,
        expires_at=now + timedelta(hours=1),
    )  # fmt: skip
    assert await complete_session(
        conn, session.id, token_hash=token_hash(token), now=now, expires_at=now + timedelta(hours=1)
    )
    return token, csrf


@pytest.fixture
async def world(app_manager: LifespanManager, conn: asyncpg.Connection) -> AsyncIterator[World]:
    issued = await factories.invoice(conn)
    draft = await factories.invoice(conn, ws=issued.workspace, issue=False)
    other = await factories.invoice(conn, ws=await factories.workspace(conn, slug="other"))
    staff = await account(conn, issued.workspace)
    cookie, csrf = await _staff_session(conn, staff.id)
    link_id = await conn.fetchval("SELECT id FROM portal_links WHERE invoice_id = $1", issued.invoice.id)
    ids = {
        "invoice_id": str(issued.invoice.id), "draft_id": str(draft.invoice.id),
        "customer_id": str(issued.invoice.customer_id), "link_id": str(link_id),
        "other_invoice_id": str(other.invoice.id), "other_customer_id": str(other.invoice.customer_id),
    }  # fmt: skip
    writer = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await insert_comment_session(
        conn, token_hash=token_hash(writer), invoice_id=issued.invoice.id, email="ap@customer.example",
        author_name="Claire", author_role="customer", now=now, expires_at=now + timedelta(days=1),
    )  # fmt: skip
    yield World(app_manager.app, issued.token, ids, staff.id, cookie, csrf, writer)


async def _table_digests(conn: asyncpg.Connection) -> dict[str, str]:
    """A digest of every data table's rows: an insert, an update or a delete all change it."""
    tables = [t.strip() for t in DATA_TABLES.split(",")]
    digests = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {t} t) AS {t}" for t in tables
    )
    record = await conn.fetchrow("SELECT " + digests)
    assert record is not None
    return dict(record)


async def _keep_world_reachable(conn: asyncpg.Connection, world: World) -> None:
    """An earlier example may have signed out, revoked the link or ended sessions: undo it, so every example
    reaches as deep as a real user could."""
    await conn.execute("UPDATE portal_links SET revoked_at = NULL, expires_at = NULL WHERE token = $1", world.token)
    await conn.execute(
        "UPDATE staff_sessions SET ended_at = NULL, expires_at = now() + interval '1 hour' WHERE token_hash = $1",
        token_hash(world.cookie),
    )
    await conn.execute("UPDATE staff SET disabled_at = NULL WHERE id = $1", world.staff_id)
    await conn.execute(
        "UPDATE comment_sessions SET ended_at = NULL, totp_failures = 0 WHERE token_hash = $1", token_hash(world.writer)
    )


def _param_values(world: World) -> dict[str, st.SearchStrategy[str]]:
    ids = world.ids
    an_id = st.one_of(
        st.sampled_from([ids["invoice_id"], ids["draft_id"], ids["other_invoice_id"]]),
        st.integers(min_value=0, max_value=10**18 - 1).map(str),
    )
    return {
        "token": st.one_of(st.just(world.token), st.just(world.token), nasty_text, st.text(min_size=32, max_size=32)),
        "invoice_id": an_id,
        "customer_id": st.one_of(st.sampled_from([ids["customer_id"], ids["other_customer_id"]]), an_id),
        "link_id": st.one_of(st.just(ids["link_id"]), an_id),
        "attempt": st.one_of(nasty_text, st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=24, max_size=24)),
        "sha": st.one_of(nasty_text, st.text("0123456789abcdef", min_size=64, max_size=64)),
        "path": st.one_of(st.sampled_from(["css/portal.css", "../pyproject.toml", "js/htmx.min.js"]), nasty_text),
    }


@st.composite
def hostile_request(draw: st.DrawFn, world: World, name: str, template: str, method: str) -> HostileRequest:
    values = _param_values(world)
    path = PARAM.sub(lambda m: draw(values.get(m.group(1), nasty_text)).replace("/", "%2F"), template)
    method = draw(st.one_of(st.just(method), st.just(method), st.just(method), st.sampled_from(OTHER_METHODS)))
    query_pairs = draw(st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | nasty_text, nasty_text), max_size=5))
    query = urlencode(query_pairs).encode() + draw(st.sampled_from([b"", b"&%ff=%00", b"&a=%zz", b"&&=&"]))
    headers: list[tuple[bytes, bytes]] = []
    signed_in = draw(st.booleans()) if name.startswith("console_") else False
    if signed_in:
        headers.append((b"cookie", f"{STAFF_COOKIE}={world.cookie}".encode()))
    elif name.startswith("comment") and draw(st.booleans()):
        headers.append((b"cookie", f"{WRITER_COOKIE}={world.writer}".encode()))
    elif draw(st.booleans()):
        headers.append((b"cookie", draw(header_text()).encode("latin-1")))
    for header in draw(
        st.lists(st.sampled_from(["hx-request", "accept-language", "last-event-id", "x-csrf-token", "origin"]))
    ):
        value = {"hx-request": st.just("true"), "x-csrf-token": st.sampled_from([world.csrf, "x"])}.get(
            header, header_text()
        )
        headers.append((header.encode(), draw(value).encode("latin-1")))
    extra = {"csrf": world.csrf, "client_key": secrets.token_urlsafe(18), "attempt_key": secrets.token_urlsafe(18)}
    secret = WEBHOOK_SECRET if name == "stripe_webhook" else ""
    chunks, framing, hang_up, label = draw(body_and_headers(extra, secret))
    return HostileRequest(method, path, query, [*headers, *framing], chunks, hang_up, label)


class _ErrorLog(logging.Handler):
    """Collects error records: an error logged while answering 4xx means something broke on the way."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_sweep_covers_every_route() -> None:
    names = {name for name, _, _ in ROUTES}
    assert len(ROUTES) >= 50 and {"stripe_webhook", "comment_create", "console_draft_save", "static"} <= names
    assert set(FIELD_NAMES) >= {"csrf", "amount", "body", "email", "code"}


@pytest.fixture
def errors() -> Iterator[_ErrorLog]:
    handler = _ErrorLog()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize(("name", "template", "method"), ROUTES, ids=[f"{m} {n}" for n, _, m in ROUTES])
@settings(
    max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(data=st.data())
async def test_no_hostile_request_breaks_a_route(
    world: World, conn: asyncpg.Connection, errors: _ErrorLog, name: str, template: str, method: str,
    data: st.DataObject,
) -> None:  # fmt: skip
    request = data.draw(hostile_request(world, name, template, method))
    await _keep_world_reachable(conn, world)
    before = await _table_digests(conn)
    errors.records.clear()
    answer = await send_raw(world.app, request)
    what = request.describe()
    assert 0 < answer.status < 500, f"{what} -> {answer.status}: {answer.body[:300]!r}"
    assert not errors.records, f"{what} logged {[r.getMessage() for r in errors.records]}"
    text = answer.body.decode("utf-8", "replace")
    readable = answer.headers.get("content-type", "").startswith(("text/", "application/json"))
    leak = INTERNALS.search(text) if readable else None
    assert leak is None, f"{what} -> internal detail {leak.group(0)!r}"
    for header in ("x-content-type-options", "referrer-policy", "cache-control"):
        assert header in answer.headers, f"{what} -> {answer.status} lacks {header}"
    if answer.status >= 400 or not request.path.startswith("/static/"):
        assert "content-security-policy" in answer.headers, f"{what} -> {answer.status} lacks the CSP"
    if answer.status >= 400:
        after = await _table_digests(conn)
        written = {t for t in after if after[t] != before[t]} - WRITTEN_WHEN_REFUSED - SAVED_AS_TYPED.get(name, set())
        assert not written, f"{what} -> {answer.status} but changed rows in {written}"
