"""E-mails in the recipient's language: templates/mail/<name>.txt, first line the subject, then a blank line and
the body. Plain text (no autoescape); the recipient's Texts translate and format everything in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.templating import Jinja2Templates

from web.i18n.catalogs import Texts


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    body: str


class Letters:
    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def write(self, template: str, texts: Texts, /, **context: Any) -> Letter:
        text = self.templates.get_template(f"mail/{template}.txt").render(texts=texts, **context)
        subject, _, body = text.partition("\n")
        # A header line: no line breaks, whatever a name in it held.
        return Letter(" ".join(subject.split()), body.strip("\n") + "\n")
