"""Server-side checks for console forms: each field keeps what was typed and gets a message that says what is
wrong, so a refused form comes back (422) exactly as it was sent, with the problems marked."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from web.invoices.money import CURRENCIES
from web.locales import is_known_locale
from web.mail import is_address

_TAX_ID = re.compile(r"^[A-Za-z0-9 .\-/]{2,64}$")
_INPUT_CLIP = 20_000  # nothing we accept is longer; a form never echoes megabytes back


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Control characters dropped (line breaks kept where a field is multi-line), outer space trimmed."""
    kept = "\n" if multiline else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in kept or unicodedata.category(ch)[0] != "C").strip()


@dataclass(slots=True)
class Form:
    """What was posted (kept to render back) and what is wrong with it, field by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, posted: dict[str, str], names: tuple[str, ...]) -> Form:
        return cls({name: posted.get(name, "")[:_INPUT_CLIP] for name in names})

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, label: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
        value = clean_text(self.values.get(name, ""), multiline=multiline)
        if required and not value:
            self.fail(name, f"Enter the {label}.")
        elif len(value) > max_length:
            self.fail(name, f"The {label} can be at most {max_length:,} characters (it has {len(value):,}).")
        return value

    def email(self, name: str, label: str = "e-mail address", *, required: bool = False) -> str:
        value = self.values.get(name, "").strip().lower()
        if not value:
            if required:
                self.fail(name, f"Enter the {label}.")
            return ""
        if not is_address(value):
            self.fail(name, f"“{value[:60]}” is not an e-mail address (name@example.com).")
        return value

    def tax_id(self, name: str) -> str:
        value = clean_text(self.values.get(name, "")).upper()
        if value and not _TAX_ID.match(value):
            self.fail(
                name, "A VAT or tax id has 2 to 64 letters and digits (spaces, dots, dashes allowed), e.g. DE123456789."
            )
        return value

    def locale(self, name: str) -> str:
        value = self.values.get(name, "").strip().replace("-", "_")
        if not value or len(value) > 35 or not is_known_locale(value):
            self.fail(name, "Choose a language and region from the list, e.g. en_GB or de_DE.")
        return value

    def currency(self, name: str) -> str:
        value = self.values.get(name, "").strip().upper()
        if value not in CURRENCIES:
            self.fail(name, "Choose a currency from the list.")
        return value

    def choice(self, name: str, label: str, options: tuple[str, ...]) -> str:
        value = self.values.get(name, "").strip()
        if value not in options:
            self.fail(name, f"Choose the {label} from the list.")
        return value

    def day(self, name: str, label: str, *, required: bool = False) -> date | None:
        value = self.values.get(name, "").strip()
        if not value:
            if required:
                self.fail(name, f"Enter the {label}.")
            return None
        try:
            parsed = date.fromisoformat(value) if value.isascii() and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None or not 2000 <= parsed.year <= 2199:
            self.fail(name, f"The {label} must be a date like 2026-11-30.")
            return None
        return parsed

    def checked(self, name: str) -> bool:
        return self.values.get(name, "") in ("on", "true", "1", "yes")
