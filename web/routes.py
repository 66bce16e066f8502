"""The one URL map. Route names equal the endpoint function names."""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.settings import Settings
from web.views import comments, health, payments, portal, webhooks
from web.views.console import access, builder, customers, invoice_actions, invoices, sign_in
from web.views.console import inbox as support_inbox
from web.views.console import settings as workspace_settings
from web.views.logos import logo_show


class RowIdConvertor(IntegerConvertor):
    """A database id: at most 18 digits, so it always fits PostgreSQL's bigint. A longer number is simply a path
    that matches no route (404), instead of a query asyncpg refuses."""

    regex = "[0-9]{1,18}"


register_url_convertor("id", RowIdConvertor())


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
        Route("/logos/{sha}", logo_show, name="logo_show"),
        *console_routes(),
        Mount("/static", app=StaticFiles(directory=settings.static_dir), name="static"),
    ]


def console_routes() -> list[BaseRoute]:
    """Every console view is guarded (web/console/guard.py) except the sign-in steps themselves."""
    return [
        Route("/console/sign-in", sign_in.sign_in_form, name="console_sign_in_form"),
        Route("/console/sign-in", sign_in.sign_in, methods=["POST"], name="console_sign_in"),
        Route("/console/sign-in/code", sign_in.code_form, name="console_code_form"),
        Route("/console/sign-in/code", sign_in.sign_in_code, methods=["POST"], name="console_sign_in_code"),
        Route("/console/sign-out", sign_in.sign_out, methods=["POST"], name="console_sign_out"),
        Route("/console/account", sign_in.account, name="console_account"),
        Route(
            "/console/account/sessions/end-others",
            sign_in.end_other_sessions,
            methods=["POST"],
            name="console_end_other_sessions",
        ),
        Route("/console", invoices.console_home, name="console_home"),
        Route("/console/customers", customers.customer_list, name="console_customer_list"),
        Route("/console/customers", customers.customer_create, methods=["POST"], name="console_customer_create"),
        Route("/console/customers/new", customers.customer_new, name="console_customer_new"),
        Route("/console/customers/{customer_id:id}", customers.customer_show, name="console_customer_show"),
        Route(
            "/console/customers/{customer_id:id}",
            customers.customer_update,
            methods=["POST"],
            name="console_customer_update",
        ),
        Route("/console/invoices", invoices.invoice_list, name="console_invoice_list"),
        Route("/console/invoices", invoices.invoice_create, methods=["POST"], name="console_invoice_create"),
        Route("/console/invoices/{invoice_id:id}", invoices.invoice_show, name="console_invoice_show"),
        Route(
            "/console/invoices/{invoice_id:id}/draft", builder.draft_save, methods=["POST"], name="console_draft_save"
        ),
        Route("/console/invoices/{invoice_id:id}/preview", invoices.invoice_preview, name="console_invoice_preview"),
        Route(
            "/console/invoices/{invoice_id:id}/preview/pdf",
            invoices.invoice_preview_pdf,
            name="console_invoice_preview_pdf",
        ),
        Route("/console/settings", workspace_settings.settings_show, name="console_settings_show"),
        Route(
            "/console/settings", workspace_settings.settings_update, methods=["POST"], name="console_settings_update"
        ),
        Route(
            "/console/settings/logo",
            workspace_settings.settings_logo_upload,
            methods=["POST"],
            name="console_settings_logo_upload",
        ),
        Route(
            "/console/settings/logo/remove",
            workspace_settings.settings_logo_remove,
            methods=["POST"],
            name="console_settings_logo_remove",
        ),
        Route("/console/inbox", support_inbox.inbox_show, name="console_inbox_show"),
        Route("/console/inbox/list", support_inbox.inbox_list, name="console_inbox_list"),
        Route("/console/inbox/stream", support_inbox.inbox_stream, name="console_inbox_stream"),
        Route("/console/threads/{invoice_id:id}", support_inbox.thread_show, name="console_thread_show"),
        Route(
            "/console/threads/{invoice_id:id}/comments",
            support_inbox.thread_comments,
            name="console_thread_comments",
        ),
        Route(
            "/console/threads/{invoice_id:id}/reply",
            support_inbox.thread_reply,
            methods=["POST"],
            name="console_thread_reply",
        ),
        Route(
            "/console/threads/{invoice_id:id}/handled",
            support_inbox.thread_handled,
            methods=["POST"],
            name="console_thread_handled",
        ),
        Route(
            "/console/threads/{invoice_id:id}/totp-reset",
            support_inbox.thread_totp_reset,
            methods=["POST"],
            name="console_thread_totp_reset",
        ),
        *_invoice_action_routes(),
    ]


def _invoice_action_routes() -> list[BaseRoute]:
    base = "/console/invoices/{invoice_id:id}"
    posts = {
        "/void": invoice_actions.invoice_void,
        "/uncollectible": invoice_actions.invoice_uncollectible,
        "/payments": invoice_actions.payment_record,
        "/resend": invoice_actions.link_resend,
        "/links/new": access.link_replace,
        "/links/{link_id:id}/expiry": access.link_expiry,
        "/links/{link_id:id}/revoke": access.link_revoke,
        "/access": access.access_settings,
    }
    return [Route(base + path, view, methods=["POST"], name=f"console_{view.__name__}") for path, view in posts.items()]
