"""The one URL map. Route names equal the endpoint function names."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.settings import Settings
from web.views import comments, health, payments, portal, webhooks


def build_routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz, name="healthz"),
        Route("/i/{token}", portal.invoice_show, name="invoice_show"),
        Route("/i/{token}/pdf", portal.invoice_pdf, name="invoice_pdf"),
        Route("/i/{token}/views", portal.invoice_viewed, methods=["POST"], name="invoice_viewed"),
        Route("/i/{token}/summary", payments.invoice_summary, name="invoice_summary"),
        Route("/i/{token}/payments", payments.payment_start, methods=["POST"], name="payment_start"),
        Route(
            "/i/{token}/payments/{attempt}/confirm", payments.payment_confirm, methods=["POST"], name="payment_confirm"
        ),
        Route("/i/{token}/payments/{attempt}/return", payments.payment_return, methods=["POST"], name="payment_return"),
        Route("/i/{token}/comments", comments.comments_tail, name="comments_tail"),
        Route("/i/{token}/comments", comments.comment_create, methods=["POST"], name="comment_create"),
        Route("/i/{token}/comments/stream", comments.comments_stream, name="comments_stream"),
        Route("/i/{token}/comments/code", comments.comment_code_request, methods=["POST"], name="comment_code_request"),
        Route("/i/{token}/comments/verify", comments.comment_code_verify, methods=["POST"], name="comment_code_verify"),
        Route("/i/{token}/comments/totp", comments.comment_totp_verify, methods=["POST"], name="comment_totp_verify"),
        Route("/i/{token}/comments/forget", comments.comment_forget, methods=["POST"], name="comment_forget"),
        Route("/webhooks/stripe", webhooks.stripe_webhook, methods=["POST"], name="stripe_webhook"),
        Mount("/static", app=StaticFiles(directory=settings.static_dir), name="static"),
    ]
