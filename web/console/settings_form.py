"""The workspace settings form: the seller details printed on invoices and the defaults new invoices start from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from babel.numbers import get_currency_name

from db.workspaces import Workspace
from web.console import comment_modes
from web.console.customer_form import locale_choices
from web.console.fields import Form
from web.invoices.money import CURRENCIES

FIELDS = (
    "legal_name", "address", "tax_id", "email", "support_email", "default_currency", "default_locale",
    "default_comment_mode", "bank_transfer_instructions",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SettingsValues:
    legal_name: str
    address: str
    tax_id: str
    email: str
    support_email: str
    default_currency: str
    default_locale: str
    default_comment_mode: str
    bank_transfer_instructions: str


@cache
def currency_choices() -> tuple[tuple[str, str], ...]:
    return tuple((code, f"{code} · {get_currency_name(code, locale='en')}") for code in sorted(CURRENCIES))


def choices() -> dict[str, tuple[tuple[str, str], ...]]:
    """The option lists the template offers, by field."""
    return {"currencies": currency_choices(), "locales": locale_choices(), "comment_modes": comment_modes.CHOICES}


def form_for(workspace: Workspace) -> Form:
    return Form({name: str(getattr(workspace, name)) for name in FIELDS})


def check(posted: dict[str, str]) -> tuple[Form, SettingsValues | None]:
    form = Form.of(posted, FIELDS)
    values = SettingsValues(
        legal_name=form.text("legal_name", "legal name", max_length=200, required=True),
        address=form.text("address", "address", max_length=1000, multiline=True),
        tax_id=form.tax_id("tax_id"),
        email=form.email("email", "billing e-mail address"),
        support_email=form.email("support_email", "support e-mail address"),
        default_currency=form.currency("default_currency"),
        default_locale=form.locale("default_locale"),
        default_comment_mode=form.choice("default_comment_mode", "comment setting", comment_modes.VALUES),
        bank_transfer_instructions=form.text(
            "bank_transfer_instructions", "bank transfer instructions", max_length=2000, multiline=True
        ),
    )
    return form, values if form.ok else None
