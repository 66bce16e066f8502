"""The one URL map, and the only place with URL paths: everything else asks for a route by name (web/http/urls.py,
`path_for` in templates). Portal routes are named after their endpoint; console route names start with `console_`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from web.settings import Settings
from web.views import comments, health, history, payments, portal, receipts, webhooks
from web.views import embed as embedded
from web.views.console import access, builder, customers, embed, invoice_actions, invoices, sign_in, wording
from web.views.console import inbox as support_inbox
from web.views.console import settings as workspace_settings
from web.views.logos import logo_show


class RowIdConvertor(IntegerConvertor):
    """A database id: at most 18 digits, so it always fits PostgreSQL's bigint. A longer number is simply a path
    that matches no route (404), instead of a query asyncpg refuses."""

    regex = "[0-9]{1,18}"


register_url_convertor("id", RowIdConvertor())

# Prefixes the app treats as a whole: unknown paths under PORTAL show "Invoice Not Found"; STATIC and LOGOS serve
# content-addressed bytes that may be cached for good.
PORTAL = "/i"
STATIC = "/static"
LOGOS = "/logos"
CONSOLE = "/console"
BILLING = "/billing"
EMBED = "/embed"


def build_routes(static_dir: Path) -> list[BaseRoute]:
    token = PORTAL + "/{token}"
    return [
        Route("/healthz", health.healthz, name="healthz"),
        Route(token, portal.invoice_show, name="invoice_show"),
        Route(token + "/pdf", portal.invoice_pdf, name="invoice_pdf"),
        Route(token + "/e-invoice/{kind}", portal.invoice_einvoice, name="invoice_einvoice"),
        Route(token + "/views", portal.invoice_viewed, methods=["POST"], name="invoice_viewed"),
        Route(token + "/language", portal.portal_language, methods=["POST"], name="portal_language"),
        Route(token + "/fresh-link", portal.fresh_link_request, methods=["POST"], name="invoice_fresh_link"),
        Route(token + "/receipts/{payment_id:id}", receipts.receipt_show, name="receipt_show"),
        Route(token + "/receipts/{payment_id:id}/pdf", receipts.receipt_pdf, name="receipt_pdf"),
        Route(token + "/history", history.history_sign_in, name="history_sign_in"),
        Route(token + "/history/code", history.history_code_request, methods=["POST"], name="history_code_request"),
        Route(token + "/history/verify", history.history_code_verify, methods=["POST"], name="history_code_verify"),
        Route(BILLING + "/{workspace}", history.history_show, name="history_show"),
        Route(BILLING + "/{workspace}/invoices/{invoice_id:id}", history.history_invoice, name="history_invoice"),
        Route(
            BILLING + "/{workspace}/invoices/{invoice_id:id}/pdf",
            history.history_invoice_pdf,
            name="history_invoice_pdf",
        ),
        Route(
            BILLING + "/{workspace}/invoices/{invoice_id:id}/receipts/{payment_id:id}/pdf",
            history.history_receipt_pdf,
            name="history_receipt_pdf",
        ),
        Route(EMBED + "/{workspace}", embedded.embed_shell, name="embed_shell"),
        Route(EMBED + "/{workspace}/session", embedded.embed_session, methods=["POST"], name="embed_session"),
        Route(EMBED + "/{workspace}/history", embedded.embed_history, name="embed_history"),
        Route(
            EMBED + "/{workspace}/invoices/{invoice_id:id}/open", embedded.embed_invoice_open, name="embed_invoice_open"
        ),
        Route(
            EMBED + "/{workspace}/invoices/{invoice_id:id}/pdf", embedded.embed_invoice_pdf, name="embed_invoice_pdf"
        ),
        Route(
            EMBED + "/{workspace}/invoices/{invoice_id:id}/receipts/{payment_id:id}/pdf",
            embedded.embed_receipt_pdf,
            name="embed_receipt_pdf",
        ),
        Route(BILLING + "/{workspace}/manage", history.history_manage, methods=["POST"], name="history_manage"),
        Route(BILLING + "/{workspace}/sign-out", history.history_sign_out, methods=["POST"], name="history_sign_out"),
        Route(token + "/summary", payments.invoice_summary, name="invoice_summary"),
        Route(token + "/payments", payments.payment_start, methods=["POST"], name="payment_start"),
        Route(
            token + "/payments/{attempt}/confirm", payments.payment_confirm, methods=["POST"], name="payment_confirm"
        ),
        Route(token + "/payments/{attempt}/return", payments.payment_return, methods=["POST"], name="payment_return"),
        Route(token + "/comments", comments.comments_tail, name="comments_tail"),
        Route(token + "/comments", comments.comment_create, methods=["POST"], name="comment_create"),
        Route(token + "/comments/form", comments.comment_form, name="comment_form"),
        Route(token + "/comments/stream", comments.comments_stream, name="comments_stream"),
        Route(token + "/comments/code", comments.comment_code_request, methods=["POST"], name="comment_code_request"),
        Route(token + "/comments/verify", comments.comment_code_verify, methods=["POST"], name="comment_code_verify"),
        Route(token + "/comments/totp", comments.comment_totp_verify, methods=["POST"], name="comment_totp_verify"),
        Route(token + "/comments/forget", comments.comment_forget, methods=["POST"], name="comment_forget"),
        Route("/webhooks/stripe", webhooks.stripe_webhook, methods=["POST"], name="stripe_webhook"),
        Route(
            "/webhooks/stripe/{workspace:id}",
            webhooks.workspace_stripe_webhook,
            methods=["POST"],
            name="stripe_workspace_webhook",
        ),
        Route(LOGOS + "/{sha}", logo_show, name="logo_show"),
        *console_routes(),
        Mount(STATIC, app=StaticFiles(directory=static_dir), name="static"),
    ]


@cache
def _router(static_dir: Path) -> Router:
    return Router(build_routes(static_dir))


def absolute_url(settings: Settings, name: str, /, **params: Any) -> str:
    """An absolute URL on the public origin outside any request (the CLI's printed links)."""
    return settings.public_origin + str(_router(settings.static_dir).url_path_for(name, **params))


def console_routes() -> list[BaseRoute]:
    """Every console view is guarded (web/console/guard.py) except the sign-in steps themselves."""
    return [
        Route(CONSOLE + "/sign-in", sign_in.sign_in_form, name="console_sign_in_form"),
        Route(CONSOLE + "/sign-in", sign_in.sign_in, methods=["POST"], name="console_sign_in"),
        Route(CONSOLE + "/sign-in/code", sign_in.code_form, name="console_code_form"),
        Route(CONSOLE + "/sign-in/code", sign_in.sign_in_code, methods=["POST"], name="console_sign_in_code"),
        Route(CONSOLE + "/sign-out", sign_in.sign_out, methods=["POST"], name="console_sign_out"),
        Route(CONSOLE + "/account", sign_in.account, name="console_account"),
        Route(CONSOLE + "/account/formats", sign_in.account_formats, methods=["POST"], name="console_account_formats"),
        Route(
            CONSOLE + "/account/sessions/end-others",
            sign_in.end_other_sessions,
            methods=["POST"],
            name="console_end_other_sessions",
        ),
        Route(CONSOLE, invoices.console_home, name="console_home"),
        Route(CONSOLE + "/customers", customers.customer_list, name="console_customer_list"),
        Route(CONSOLE + "/customers", customers.customer_create, methods=["POST"], name="console_customer_create"),
        Route(CONSOLE + "/customers/new", customers.customer_new, name="console_customer_new"),
        Route(CONSOLE + "/customers/{customer_id:id}", customers.customer_show, name="console_customer_show"),
        Route(
            CONSOLE + "/customers/{customer_id:id}",
            customers.customer_update,
            methods=["POST"],
            name="console_customer_update",
        ),
        Route(
            CONSOLE + "/customers/{customer_id:id}/history-sessions/end",
            customers.customer_sessions_end,
            methods=["POST"],
            name="console_customer_sessions_end",
        ),
        Route(CONSOLE + "/invoices", invoices.invoice_list, name="console_invoice_list"),
        Route(CONSOLE + "/invoices", invoices.invoice_create, methods=["POST"], name="console_invoice_create"),
        Route(CONSOLE + "/invoices/{invoice_id:id}", invoices.invoice_show, name="console_invoice_show"),
        Route(
            CONSOLE + "/invoices/{invoice_id:id}/draft", builder.draft_save, methods=["POST"], name="console_draft_save"
        ),
        Route(CONSOLE + "/invoices/{invoice_id:id}/preview", invoices.invoice_preview, name="console_invoice_preview"),
        Route(
            CONSOLE + "/invoices/{invoice_id:id}/preview/pdf",
            invoices.invoice_preview_pdf,
            name="console_invoice_preview_pdf",
        ),
        Route(
            CONSOLE + "/invoices/{invoice_id:id}/e-invoice/{kind}",
            invoices.invoice_einvoice,
            name="console_invoice_einvoice",
        ),
        Route(CONSOLE + "/settings", workspace_settings.settings_show, name="console_settings_show"),
        Route(
            CONSOLE + "/settings/stripe/connect",
            workspace_settings.stripe_connect,
            methods=["POST"],
            name="console_stripe_connect",
        ),
        Route(
            CONSOLE + "/settings/stripe/disconnect",
            workspace_settings.stripe_disconnect,
            methods=["POST"],
            name="console_stripe_disconnect",
        ),
        Route(
            CONSOLE + "/settings/stripe/sync",
            workspace_settings.stripe_sync,
            methods=["POST"],
            name="console_stripe_sync",
        ),
        Route(
            CONSOLE + "/settings/stripe/sync", workspace_settings.stripe_sync_status, name="console_stripe_sync_status"
        ),
        Route(
            CONSOLE + "/settings/stripe/customer-portal",
            workspace_settings.stripe_customer_portal,
            methods=["POST"],
            name="console_stripe_customer_portal",
        ),
        Route(
            CONSOLE + "/settings/stripe/issue-invoices",
            workspace_settings.stripe_issue_invoices,
            methods=["POST"],
            name="console_stripe_issue_invoices",
        ),
        Route(CONSOLE + "/settings/embed", embed.embed_show, name="console_embed_show"),
        Route(
            CONSOLE + "/settings/embed/secret",
            embed.embed_secret_rotate,
            methods=["POST"],
            name="console_embed_secret_rotate",
        ),
        Route(
            CONSOLE + "/settings/embed/origins",
            embed.embed_origins_save,
            methods=["POST"],
            name="console_embed_origins_save",
        ),
        Route(CONSOLE + "/settings/texts", wording.wording_list, name="console_wording_list"),
        Route(CONSOLE + "/settings/texts/edit", wording.wording_edit, name="console_wording_edit"),
        Route(CONSOLE + "/settings/texts/edit", wording.wording_save, methods=["POST"], name="console_wording_save"),
        Route(CONSOLE + "/settings/texts/reset", wording.wording_reset, methods=["POST"], name="console_wording_reset"),
        Route(CONSOLE + "/settings/texts/preview", wording.wording_preview, name="console_wording_preview"),
        Route(
            CONSOLE + "/settings", workspace_settings.settings_update, methods=["POST"], name="console_settings_update"
        ),
        Route(
            CONSOLE + "/settings/logo",
            workspace_settings.settings_logo_upload,
            methods=["POST"],
            name="console_settings_logo_upload",
        ),
        Route(
            CONSOLE + "/settings/logo/remove",
            workspace_settings.settings_logo_remove,
            methods=["POST"],
            name="console_settings_logo_remove",
        ),
        Route(CONSOLE + "/inbox", support_inbox.inbox_show, name="console_inbox_show"),
        Route(CONSOLE + "/inbox/list", support_inbox.inbox_list, name="console_inbox_list"),
        Route(CONSOLE + "/inbox/stream", support_inbox.inbox_stream, name="console_inbox_stream"),
        Route(CONSOLE + "/threads/{invoice_id:id}", support_inbox.thread_show, name="console_thread_show"),
        Route(
            CONSOLE + "/threads/{invoice_id:id}/comments",
            support_inbox.thread_comments,
            name="console_thread_comments",
        ),
        Route(
            CONSOLE + "/threads/{invoice_id:id}/reply",
            support_inbox.thread_reply,
            methods=["POST"],
            name="console_thread_reply",
        ),
        Route(
            CONSOLE + "/threads/{invoice_id:id}/handled",
            support_inbox.thread_handled,
            methods=["POST"],
            name="console_thread_handled",
        ),
        Route(
            CONSOLE + "/threads/{invoice_id:id}/totp-reset",
            support_inbox.thread_totp_reset,
            methods=["POST"],
            name="console_thread_totp_reset",
        ),
        *_invoice_action_routes(),
    ]


def _invoice_action_routes() -> list[BaseRoute]:
    base = CONSOLE + "/invoices/{invoice_id:id}"
    posts = {
        "/void": invoice_actions.invoice_void,
        "/uncollectible": invoice_actions.invoice_uncollectible,
        "/payments": invoice_actions.payment_record,
        "/resend": invoice_actions.link_resend,
        "/stripe/retry": invoice_actions.stripe_retry,
        "/stripe/give-up": invoice_actions.stripe_give_up,
        "/links/new": access.link_replace,
        "/links/{link_id:id}/expiry": access.link_expiry,
        "/links/{link_id:id}/revoke": access.link_revoke,
        "/access": access.access_settings,
    }
    return [Route(base + path, view, methods=["POST"], name=f"console_{view.__name__}") for path, view in posts.items()]
