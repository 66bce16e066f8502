"""The one URL map. Route names equal the endpoint function names."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.settings import Settings
from web.views import health, portal, webhooks


def build_routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz, name="healthz"),
        Route("/i/{token}", portal.invoice_show, name="invoice_show"),
        Route("/i/{token}/pdf", portal.invoice_pdf, name="invoice_pdf"),
        Route("/i/{token}/views", portal.invoice_viewed, methods=["POST"], name="invoice_viewed"),
        Route("/webhooks/stripe", webhooks.stripe_webhook, methods=["POST"], name="stripe_webhook"),
        Mount("/static", app=StaticFiles(directory=settings.static_dir), name="static"),
    ]
