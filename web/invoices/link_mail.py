"""The e-mail that carries an invoice's portal link to its customer (at Send, when billing resends it, when the
customer asks for a fresh one), in the invoice's language with the workspace's own wording. Written to the outbox in
the caller's transaction; delivered after it commits."""

from __future__ import annotations

from collections.abc import Callable

from db.invoices import Invoice
from db.links import PortalLink
from db.outbox import insert_mail
from db.rows import Connection
from db.workspaces import select_workspace
from web.i18n.choice import choose_texts
from web.i18n.letters import Letters
from web.i18n.wording import workspace_wording


async def mail_link(
    conn: Connection,
    invoice: Invoice,
    link: PortalLink,
    *,
    recipient: str,
    link_url: Callable[[str], str],
    total: int,
    letters: Letters,
    again: bool = False,
) -> int:
    """The link to the customer, in the invoice's language (the customer's when it was issued)."""
    workspace = await select_workspace(conn, invoice.workspace_id)
    fallback = workspace.default_locale if workspace is not None else None
    wording = await workspace_wording(conn, invoice.workspace_id)
    texts = choose_texts(None, None, invoice.locale, fallback, overrides=wording)
    letter = letters.write(
        "invoice_link", texts, number=invoice.number, seller=(invoice.seller_snapshot or {}).get("legal_name", ""),
        total=total, currency=invoice.currency, due_date=invoice.due_date, link=link_url(link.token), again=again,
    )  # fmt: skip
    return await insert_mail(
        conn, workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind="invoice_link", recipient=recipient,
        subject=letter.subject, body=letter.body,
        # The link is a key to the invoice: the copy kept in the outbox is blanked once delivered.
        sensitive=True,
    )  # fmt: skip
