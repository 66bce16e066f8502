"""The comment form's state for one reader: read-only, e-mail step, code step, TOTP step, or writing.

Anonymous readers all get the same form (so the page can be cached); a verified writer's page is rendered for
them alone. The draft text travels through every step, so verifying never loses what was typed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

from db.comment_access import CommentSession
from db.invoices import Invoice
from db.rows import Connection
from web.comments.access import TotpPrompt, needs_totp, totp_prompt
from web.i18n.message import Message
from web.secret_box import SecretBox

SESSION_COOKIE = "comment_session"
# The same session token, carried in a header by a page that cannot keep cookies: the embedded portal, inside a host
# app's frame where browsers block third-party cookies (static/js/embed-frame.js).
SESSION_HEADER = "X-Comment-Session"


class TypedText(TypedDict, total=False):
    """What the reader typed, carried through every step so that verifying never loses it."""

    name: str
    email: str
    body: str


class FormValues(TypedText, total=False):
    """What the reader typed and what the form tells them."""

    error: Message | None
    notice: Message | None
    step: str


@dataclass(frozen=True, slots=True)
class CommentForm:
    step: str  # closed | email | code | totp | compose
    name: str = ""
    email: str = ""
    body: str = ""
    error: Message | None = None
    notice: Message | None = None
    client_key: str = ""
    writer: CommentSession | None = None
    totp: TotpPrompt | None = None

    def with_values(self, **values: Unpack[FormValues]) -> CommentForm:
        return replace(self, **values)


def anonymous_form(invoice: Invoice) -> CommentForm:
    return CommentForm(step="closed" if invoice.comment_mode == "closed" else "email")


async def form_for(
    conn: Connection, invoice: Invoice, writer: CommentSession | None, box: SecretBox, **values: Unpack[FormValues]
) -> CommentForm:
    """The form for this reader: `values` (name, email, body, error, notice, step) carry what they typed."""
    if invoice.comment_mode == "closed":
        return CommentForm(step="closed")
    if writer is None:
        return CommentForm(step="email").with_values(**values)
    values.pop("step", None)
    if needs_totp(invoice, writer):
        return CommentForm(step="totp", writer=writer, totp=await totp_prompt(conn, invoice, writer, box)).with_values(
            **values
        )
    # A fresh key per rendered form: a double submit of this form writes one comment.
    return CommentForm(step="compose", writer=writer, client_key=secrets.token_urlsafe(18)).with_values(**values)
