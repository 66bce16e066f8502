"""Mailing each successful payment's receipt to the customer, once: a card payment made final by Stripe's event,
a payment billing recorded, a payment on an invoice made in Stripe. A background round (every
RECEIPT_MAIL_SECONDS, in every process) takes the payments not mailed yet, locked so no two processes take the
same, writes each mail to the outbox and marks it in one transaction, then delivers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import asyncpg

from db.invoices import select_invoice_by_id
from db.outbox import insert_mail
from db.payments import mark_receipt_mailed, take_receipts_to_mail
from db.rows import Connection
from web.i18n.choice import document_texts
from web.i18n.letters import Letters
from web.invoices.documents import load_document
from web.invoices.links import live_link
from web.mail import Mailer
from web.receipts.model import receipt_for

log = logging.getLogger(__name__)
ROUND = 50

ReceiptUrl = Callable[[str, int], str]  # (link token, payment id) -> the receipt page's absolute URL


async def mail_receipts(
    pool: asyncpg.Pool, mailer: Mailer, letters: Letters, receipt_url: ReceiptUrl, now: datetime
) -> int:
    """One round: how many receipts were written (and handed to the mailer)."""
    mail_ids: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        for payment_id, invoice_id in await take_receipts_to_mail(conn, ROUND):
            try:
                async with conn.transaction():  # a savepoint: one receipt that fails never holds back the others
                    mail_id = await _write(conn, payment_id, invoice_id, letters, receipt_url, now)
            except Exception:
                # Marked all the same, or every round would stop at it: logged for a person, the receipt stays
                # on the invoice's page.
                log.exception("receipt of payment %s not written", payment_id)
                mail_id = None
            await mark_receipt_mailed(conn, payment_id)
            if mail_id is not None:
                mail_ids.append(mail_id)
    if mail_ids:
        await mailer.deliver(pool, mail_ids)
    return len(mail_ids)


async def _write(
    conn: Connection, payment_id: int, invoice_id: int, letters: Letters, receipt_url: ReceiptUrl, now: datetime
) -> int | None:
    invoice = await select_invoice_by_id(conn, invoice_id)
    if invoice is None:
        return None
    document = await load_document(conn, invoice)
    receipt = receipt_for(document, payment_id)
    recipient = document.buyer.email
    if receipt is None or not recipient:
        return None  # no address to send it to: the receipt is still on the invoice's page
    link = await live_link(conn, invoice.id, now)
    texts = document_texts(document)
    letter = letters.write(
        "receipt", texts, number=receipt.number, seller=document.seller.legal_name, invoice=invoice.number,
        amount=receipt.payment.amount, currency=invoice.currency, balance_after=receipt.balance_after,
        link=receipt_url(link.token, payment_id) if link is not None else "",
    )  # fmt: skip
    return await insert_mail(
        conn, workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind="receipt", recipient=recipient,
        subject=letter.subject, body=letter.body,
        # The link is a key to the invoice: the copy kept in the outbox is blanked once delivered.
        sensitive=link is not None,
    )  # fmt: skip


async def mail_receipts_forever(
    pool: asyncpg.Pool, mailer: Mailer, letters: Letters, receipt_url: ReceiptUrl, clock: Callable[[], datetime],
    seconds: float,
) -> None:  # fmt: skip
    """The app's background loop (cancelled when it stops)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await mail_receipts(pool, mailer, letters, receipt_url, clock())
        except Exception:  # the database or the mail server away for a moment must not end the loop
            log.exception("receipt round failed")
