"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, its own thread) and what it received."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mailbox:
    url: str = ""
    messages: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.content)  # type: ignore[arg-type]
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, recipient: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"].lower() == recipient.lower()]

    async def wait_for(self, recipient: str, count: int = 1, within: float = 5.0) -> list[Message]:
        deadline = asyncio.get_running_loop().time() + within
        while len(found := self.to(recipient)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no mail for {recipient} within {within}s (have {len(found)})")
            await asyncio.sleep(0.02)
        return found

    async def text_of(self, recipient: str, nth: int = 1) -> tuple[str, str]:
        """Subject and decoded body of the nth mail to `recipient`."""
        message = (await self.wait_for(recipient, nth))[nth - 1]
        # RFC 2047: a subject in Japanese arrives as =?utf-8?b?…?= words.
        subject = str(make_header(decode_header(str(message["Subject"]))))
        return subject, message.get_payload(decode=True).decode()  # type: ignore[union-attr]

    async def code_for(self, recipient: str, nth: int = 1) -> str:
        """The one-time code in the nth mail to `recipient`."""
        message = (await self.wait_for(recipient, nth))[nth - 1]
        match = re.search(r"(?<!\d)(\d{6})(?!\d)", message.get_payload(decode=True).decode())  # type: ignore[union-attr]
        assert match, "no code in the mail"
        return match.group(1)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot cope with port 0: pick a free port first
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailbox.url = f"smtp://127.0.0.1:{port}"
        yield mailbox
    finally:
        controller.stop()
