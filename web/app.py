"""create_app(settings) -> Starlette. The lifespan owns the database pool, the change feed, the PDF workers and the
Stripe gateway; every request sees them as its typed state (web/state.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from web.console.auth import FAST_PASSWORD_HASHING_FOR_TESTS
from web.database import database_url, open_pool, release_embedded
from web.http.errors import exception_handlers
from web.http.forms import DeclaredBodyLimit
from web.http.security import SecurityHeadersMiddleware, content_security_policy, stripe_sources
from web.http.templating import build_templates
from web.i18n.catalogs import LOCALES_DIR
from web.i18n.letters import Letters
from web.invoices.prerender import PdfPrerenderer
from web.mail import Mailer
from web.pdf import PdfCache, PdfRenderer, rendering_fingerprint
from web.portal.cache_hits import CachedHits
from web.portal.page_cache import PortalCache
from web.realtime import ChangeFeed
from web.receipts.mailing import mail_receipts_forever
from web.routes import LOGOS, PORTAL, STATIC, absolute_url, build_routes
from web.secret_box import SecretBox
from web.settings import Settings
from web.state import State, utc_now
from web.streams import StreamHub
from web.stripe.accounts import StripeAccounts
from web.stripe.gateway import CardAttachment
from web.stripe_mirror.worker import run_forever as mirror_forever
from web.stripe_sync.reconcile import reconcile_forever, stop_syncs

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    pdf_renderer: PdfRenderer | None = None,
    change_feed: ChangeFeed | None = None,
    clock: Callable[[], datetime] = utc_now,
    stripe_cards: CardAttachment | None = None,
) -> Starlette:
    """`pdf_renderer` and `change_feed` may be shared by several apps (tests); the app then leaves them running.
    `stripe_cards` is how card tokens are confirmed (Stripe's way unless a test double needs its own)."""
    mailer = Mailer(settings.smtp_url, settings.mail_from)  # checks SMTP_URL before anything starts
    if FAST_PASSWORD_HASHING_FOR_TESTS:
        log.warning("INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS is set: passwords are hashed weakly (tests only)")
    if not settings.secret_key:
        # Without it the secrets the database keeps (TOTP secrets) could not be sealed or opened.
        raise ValueError("SECRET_KEY is not set: generate one with `openssl rand -hex 32` (see README, Configuration)")
    box = SecretBox(settings.secret_key, [settings.secret_key_old])  # checks the keys before anything starts
    if settings.stripe_api_base and stripe_cards is None:
        log.warning(
            "STRIPE_API_BASE is set but cards are confirmed Stripe's way; a local double such as localstripe needs "
            "its adapter: serve with `uvicorn --factory web.dev.local_stripe:app_from_env` (or `make demo`)"
        )
    routes = build_routes(settings.static_dir)
    router = Router(routes)
    templates = build_templates(
        settings.templates_dir,
        settings.static_dir,
        static_path=lambda path: str(router.url_path_for("static", path=path)),
    )
    fingerprint = rendering_fingerprint(settings.templates_dir, settings.static_dir, LOCALES_DIR)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        url = database_url(settings)
        pool = await open_pool(url, settings)
        feed = change_feed or ChangeFeed(url)
        portal_cache, streams = PortalCache(feed), StreamHub(feed)
        renderer = pdf_renderer or PdfRenderer(
            workers=settings.pdf_workers,
            stylesheets=[settings.static_dir / "css" / "document.css", settings.static_dir / "css" / "pdf.css"],
            base_dir=settings.static_dir,
            time_limit=settings.pdf_time_limit_seconds,
        )
        accounts = StripeAccounts(settings, box, stripe_cards)
        reconciling = (
            asyncio.create_task(reconcile_forever(pool, accounts, settings.stripe_reconcile_minutes))
            if settings.stripe_reconcile_minutes > 0
            else None
        )
        letters = Letters(templates)

        def receipt_url(token: str, payment_id: int) -> str:
            return absolute_url(settings, "receipt_show", token=token, payment_id=payment_id)

        mailing = (
            asyncio.create_task(
                mail_receipts_forever(pool, mailer, letters, receipt_url, clock, settings.receipt_mail_seconds)
            )
            if settings.receipt_mail_seconds > 0
            else None
        )
        mirroring = (
            asyncio.create_task(mirror_forever(pool, accounts, settings.stripe_mirror_seconds))
            if settings.stripe_mirror_seconds > 0
            else None
        )
        pdf_cache = PdfCache(renderer, memory_bytes=settings.pdf_memory_cache_bytes, fingerprint=fingerprint)
        prerenderer = (
            PdfPrerenderer(pool, templates, pdf_cache, feed, sweep_seconds=settings.pdf_prerender_seconds)
            if settings.pdf_prerender_seconds > 0
            else None
        )
        prerendering: asyncio.Task[None] | None = None
        try:
            if pdf_renderer is None:
                await renderer.warm_up()
            if change_feed is None:
                await feed.start()
            if prerenderer is not None:
                prerendering = asyncio.create_task(prerenderer.run_forever())
            yield State(
                settings=settings,
                pool=pool,
                templates=templates,
                pdf_cache=pdf_cache,
                change_feed=feed,
                portal_cache=portal_cache,
                stripe=accounts,
                streams=streams,
                mailer=mailer,
                letters=letters,
                secrets=box,
                clock=clock,
                csp=_csp(settings),
            )
        finally:
            if reconciling is not None:
                # Not awaited: it is asleep or mid-walk, and stops at its next await. (Waiting here would yield to
                # the pool's and the feed's reconnect attempts, which hold the shutdown when the database is gone.)
                reconciling.cancel()
            if mailing is not None:
                mailing.cancel()  # its round is one transaction: cancelled, it rolls back and the next takes it
            if mirroring is not None:
                mirroring.cancel()  # the same: a step it was taking is leased, and taken again after the lease
            if prerendering is not None:
                prerendering.cancel()  # a render it was making is lost; the next start's sweep makes it again
            if prerenderer is not None:
                prerenderer.close()
            await stop_syncs()
            # A shared feed (tests) outlives this app: it must stop calling into it.
            portal_cache.detach()
            streams.detach()
            if change_feed is None:
                await feed.stop()
            if pdf_renderer is None:
                renderer.close()
            await pool.close()
            release_embedded()

    return PortalApp(
        csp=_csp(settings),
        debug=False,  # tracebacks never reach a browser, even in development
        routes=routes,
        exception_handlers=exception_handlers(portal_prefix=PORTAL),
        lifespan=lifespan,
        # Each form's own limit is applied where it is read (web/http/forms.py); this refuses the declared giants.
        middleware=[Middleware(DeclaredBodyLimit)],
    )


class PortalApp(Starlette):
    """Starlette with the security headers outside its ServerErrorMiddleware, so every response carries them:
    our pages, our 500 page and the framework's own 404/405/413 answers alike. Between the two, the public
    page's cache hits are answered without the framework's stack (web/portal/cache_hits.py)."""

    def __init__(self, *, csp: str, **options: Any) -> None:
        self.csp = csp
        self.cache_hits: CachedHits | None = None  # built with the stack, on the first request
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        routes = {route.name: route for route in self.routes if isinstance(route, Route)}
        self.cache_hits = CachedHits(
            super().build_middleware_stack(), page=routes["invoice_show"], pdf=routes["invoice_pdf"]
        )
        return SecurityHeadersMiddleware(self.cache_hits, csp=self.csp, immutable_prefixes=(STATIC + "/", LOGOS + "/"))


def _csp(settings: Settings) -> str:
    # Any workspace may connect its own Stripe account at any time, so Stripe.js is always allowed to load.
    return content_security_policy(**stripe_sources(settings.stripe_js_url, settings.stripe_api_base))


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory web.app:app_from_env` (Procfile)."""
    configure_logging()
    return create_app(Settings.from_env())
