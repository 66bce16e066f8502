"""Delivering the outbox (db/outbox.py) after commit: SMTP when SMTP_URL is set, else the log.

SMTP_URL: smtp://[user:password@]host[:port] (plain, upgraded with STARTTLS when the server offers it),
smtp+starttls://… (STARTTLS required) or smtps://… (TLS from the first byte, port 465 by default).
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import asyncpg

from db.outbox import mark_failed, mark_sent, select_mail
from web.i18n.message import msg

log = logging.getLogger(__name__)

# The shape of an address we will write to; whether it is deliverable is the mail server's call.
_ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")


def is_address(value: str) -> bool:
    """An e-mail address we accept from a form: ASCII, printable, at most 254 characters, name@domain.tld."""
    return len(value) <= 254 and value.isascii() and value.isprintable() and _ADDRESS.match(value) is not None


_SCHEMES = {"smtp": "optional", "smtp+starttls": "required", "smtps": "implicit"}


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str
    password: str
    tls: str  # optional | required | implicit


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:port (or smtps://, smtp+starttls://)")
    tls = _SCHEMES[parts.scheme]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls == "implicit" else 587 if tls == "required" else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=tls,
    )


# What a reader is told when a code mail could not be handed to the mail server (MailUndeliverable).
MAIL_DOWN = msg("We could not send the e-mail just now. Nothing was saved: please ask for a code again in a minute.")


class MailUndeliverable(Exception):
    """The mail server could not take a mail that had to go out now (a sign-in code the reader waits for)."""


class Mailer:
    def __init__(self, smtp_url: str, sender: str, *, timeout: float = 10.0) -> None:
        self.target = parse_smtp_url(smtp_url) if smtp_url else None
        self.sender = sender
        self.timeout = timeout

    async def deliver(self, pool: asyncpg.Pool, mail_ids: Sequence[int]) -> None:
        """Send what the outbox holds under these ids. A failure stays in the outbox with its error, logged."""
        for mail_id in mail_ids:
            async with pool.acquire() as conn:
                mail = await select_mail(conn, mail_id)
            if mail is None or mail.sent_at is not None:
                continue
            try:
                sent = await self.send_now(recipient=mail.recipient, subject=mail.subject, body=mail.body)
            except MailUndeliverable as undelivered:
                async with pool.acquire() as conn:
                    await mark_failed(conn, mail.id, str(undelivered))
                continue
            if sent:
                async with pool.acquire() as conn:
                    await mark_sent(conn, mail.id)

    async def send_now(self, *, recipient: str, subject: str, body: str) -> bool:
        """Send one mail now, before anything about it is written: the caller records it (sent, when this says
        True) once the mail server took it, and a MailUndeliverable lets the caller write nothing at all.
        Without SMTP_URL the mail is logged and False says it stays in the outbox unsent."""
        if self.target is None:
            log.info("outbox (no SMTP_URL set) to=%s subject=%r\n%s", recipient, subject, body)
            return False
        try:
            await asyncio.to_thread(self._send, self.target, recipient, subject, body)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("mail to %s not delivered: %r", recipient, error)
            raise MailUndeliverable(repr(error)) from error
        return True

    def _send(self, target: SmtpTarget, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        context = ssl.create_default_context()
        if target.tls == "implicit":
            client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if target.tls == "required" or (target.tls == "optional" and client.has_extn("starttls")):
                client.starttls(context=context)
                client.ehlo()
            if target.username:
                client.login(target.username, target.password)
            client.send_message(message)
