"""Shared fixtures: a real PostgreSQL database per run, the app under its lifespan, an HTTP client.

The database is TEST_DATABASE_URL, else the system server on 127.0.0.1:5432, else an embedded pgserver.
Each run creates a fresh database and drops it at the end; each test starts from empty tables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import settings as hypothesis_settings
from playwright.async_api import Browser
from starlette.routing import BaseRoute

from db.migrate import migrate
from db.rows import init_connection
from tests.browser import chromium
from tests.live import free_port
from tests.mailbox import Mailbox, smtp_server
from tests.sealed import TEST_SECRET_KEY
from web.app import create_app
from web.dev.local_stripe import TokenCardId, flush, localstripe
from web.pdf import PdfRenderer
from web.realtime import ChangeFeed
from web.settings import PROJECT_ROOT, Settings

# `--hypothesis-profile=deep`: the sweep (tests/test_sweep.py) sends a fifth of this per route, so 400 each.
hypothesis_settings.register_profile("deep", max_examples=2000)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SYSTEM_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATA_TABLES = ", ".join(
    [
        "staff_sign_in_failures",
        "staff_sessions",
        "staff",
        "outbox",
        "totp_enrolments",
        "comment_sessions",
        "comment_code_requests",
        "comment_codes",
        "comments",
        "activity",
        "pdf_cache",
        "einvoice_files",
        "pdf_render_claims",
        "payments",
        "portal_links",
        "invoice_lines",
        "invoices",
        "invoice_number_counters",
        "customers",
        "workspaces",
        "logos",
        "stripe_events",
    ]
)


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """In CI a skipped test is a failure: a missing browser or server must not pass silently."""
    if IN_CI and call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception):
        call.excinfo = pytest.ExceptionInfo.from_exception(RuntimeError(f"skipped in CI: {call.excinfo.value}"))


def _system_server_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A server we may create databases on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _system_server_reachable():
        yield SYSTEM_SERVER
        return
    from web.database import embedded_database_url

    data_dir = Path(tempfile.mkdtemp(prefix="invoice-portal-test-"))
    try:
        yield embedded_database_url(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return f"{base}?{query}" if query else base


async def create_database(admin_url: str) -> str:
    name = f"invoice_portal_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(admin_url, name)


async def drop_database(admin_url: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(admin_url: str) -> AsyncIterator[str]:
    url = await create_database(admin_url)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield url
    await drop_database(admin_url, url)


async def connect(url: str) -> asyncpg.Connection:
    """A connection set up like the application's pool connections."""
    connection = await asyncpg.connect(url)
    await init_connection(connection)
    return connection


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection on empty tables (currencies and migrations stay)."""
    connection = await connect(database_url)
    await connection.execute(f"TRUNCATE {DATA_TABLES} CASCADE")
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pdf_renderer() -> Iterator[PdfRenderer]:
    """One warm worker pool for the whole run: spawning WeasyPrint workers costs about a second each."""
    static = PROJECT_ROOT / "static"
    renderer = PdfRenderer(
        workers=2, stylesheets=[static / "css" / "document.css", static / "css" / "pdf.css"], base_dir=static
    )
    yield renderer
    renderer.close()


WEBHOOK_SECRET = "whsec_test_portal"


@pytest.fixture(scope="session")
def stripe_base() -> Iterator[str]:
    """A localstripe process for the run (flushed by the tests that need a clean slate); its default account is the
    one every test's settings name (sk_test_portal / pk_test_portal)."""
    with localstripe(secret_key="sk_test_portal", publishable_key="pk_test_portal") as base:
        yield base


@pytest.fixture
def stripe_api(stripe_base: str) -> httpx.AsyncClient:
    """Talks to localstripe the way Stripe.js does in the browser (publishable key) or to inspect its state."""
    flush(stripe_base)
    return httpx.AsyncClient(base_url=stripe_base, headers={"Authorization": "Bearer sk_test_portal"})


@pytest.fixture(scope="session")
def smtp() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) for the run; the app under test delivers its mail there."""
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture
def mailbox(smtp: Mailbox) -> Mailbox:
    smtp.clear()
    return smtp


class MovableClock:
    """The app's clock: the real time plus an offset a test may move (code expiry, session expiry)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        # Set: time stands still at this moment (a test about what happens "at once", on a machine of any speed).
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.offset


@pytest.fixture(scope="session")
def session_clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def clock(session_clock: MovableClock) -> Iterator[MovableClock]:
    session_clock.offset, session_clock.frozen = timedelta(0), None
    yield session_clock
    session_clock.offset, session_clock.frozen = timedelta(0), None


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory, stripe_base: str, smtp: Mailbox) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        db_pool_max=5,
        stripe_secret_key="sk_test_portal",
        stripe_publishable_key="pk_test_portal",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_base,
        stripe_js_url=f"{stripe_base}/js.stripe.com/v3/",
        smtp_url=smtp.url,
        mail_from="Acme invoices <invoices@acme.example>",
        secret_key=TEST_SECRET_KEY,
        # Tests apply waiting Stripe steps themselves (run_waiting), so a step's state is the test's to see.
        stripe_mirror_seconds=0,
        receipt_mail_seconds=0,
        pdf_prerender_seconds=0,
    )


@pytest.fixture(scope="session")
async def change_feed(database_url: str) -> AsyncIterator[ChangeFeed]:
    """The LISTEN side shared by the apps under test, so tests can wait for it (`settle`)."""
    feed = ChangeFeed(database_url)
    await feed.start()
    assert feed.connected
    yield feed
    await feed.stop()


@pytest.fixture
def settle(change_feed: ChangeFeed, conn: asyncpg.Connection) -> Callable[[], Awaitable[None]]:
    """Wait until the app has heard of every change committed so far (as another process would, a moment later)."""

    async def wait() -> None:
        await change_feed.sync(conn)

    return wait


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the run; each test opens its own context (fresh cookies and storage)."""
    async with chromium() as instance:
        yield instance


@pytest.fixture(scope="session")
async def app_manager(
    settings: Settings, pdf_renderer: PdfRenderer, change_feed: ChangeFeed, session_clock: MovableClock
) -> AsyncIterator[LifespanManager]:
    app = create_app(
        settings, pdf_renderer=pdf_renderer, change_feed=change_feed, clock=session_clock, stripe_cards=TokenCardId()
    )
    async with LifespanManager(app) as manager:
        yield manager


def asgi_client(manager: LifespanManager, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client of the app under `manager`, seen as coming from `peer` (what the limits count by)."""
    transport = httpx.ASGITransport(app=manager.app, client=(peer, 4000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app_manager: LifespanManager, conn: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """Depends on `conn`, so tables are empty when a test starts."""
    async with asgi_client(app_manager) as http:
        yield http


AppVariant = Callable[..., contextlib.AbstractAsyncContextManager[LifespanManager]]


@pytest.fixture
def app_variant(
    settings: Settings,
    pdf_renderer: PdfRenderer,
    change_feed: ChangeFeed,
    session_clock: MovableClock,
    conn: asyncpg.Connection,
) -> AppVariant:
    """Starts the real app with some settings changed (an outage, a short timeout, a wide pool) on the shared
    database, feed and clock: `async with app_variant(smtp_url=...) as manager`. `renderer` replaces the shared
    PDF renderer; `routes` are added to the app's own (a route that fails the way a bug would)."""

    @contextlib.asynccontextmanager
    async def start(
        *, renderer: PdfRenderer | None = None, routes: Sequence[BaseRoute] = (), **changes: Any
    ) -> AsyncIterator[LifespanManager]:
        app = create_app(
            dataclasses.replace(settings, **changes), pdf_renderer=renderer or pdf_renderer,
            change_feed=change_feed, clock=session_clock, stripe_cards=TokenCardId(),
        )  # fmt: skip
        app.router.routes.extend(routes)
        async with LifespanManager(app) as manager:
            yield manager

    return start


@pytest.fixture
async def client_stripe_down(app_variant: AppVariant) -> AsyncIterator[httpx.AsyncClient]:
    """The same portal and database, with Stripe unreachable (a closed port): an outage as the SDK sees it."""
    async with app_variant(stripe_api_base=f"http://127.0.0.1:{free_port()}") as manager, asgi_client(manager) as http:
        yield http
