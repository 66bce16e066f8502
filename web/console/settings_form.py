"""The workspace settings form: the seller details printed on invoices (and put in e-invoices) and the defaults new
invoices start from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from babel.numbers import get_currency_name

from db.workspaces import EDITABLE, Workspace
from web.console import comment_modes
from web.console.customer_form import locale_choices
from web.console.fields import Form, clean_text
from web.console.party_fields import ENDPOINT_SCHEMES, check_endpoint, check_postal, country_choices, printed_address
from web.invoices.money import CURRENCIES

# The form's fields: every setting but the printed address, which is made from its parts.
FIELDS = tuple(name for name in EDITABLE if name != "address")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")


@dataclass(frozen=True, slots=True)
class SettingsValues:
    """One value per workspace setting (db.workspaces.EDITABLE), in that order."""

    legal_name: str
    address: str
    tax_id: str
    email: str
    support_email: str
    default_currency: str
    default_locale: str
    default_comment_mode: str
    bank_transfer_instructions: str
    street: str
    street_extra: str
    postcode: str
    city: str
    country_code: str
    tax_registration: str
    registration_id: str
    endpoint_id: str
    endpoint_scheme: str
    contact_name: str
    contact_phone: str
    contact_email: str
    iban: str
    bic: str
    einvoice_in_pdf: bool


@cache
def currency_choices() -> tuple[tuple[str, str], ...]:
    return tuple((code, f"{code} · {get_currency_name(code, locale='en')}") for code in sorted(CURRENCIES))


def choices() -> dict[str, tuple[tuple[str, str], ...]]:
    """The option lists the template offers, by field."""
    return {
        "currencies": currency_choices(), "locales": locale_choices(), "comment_modes": comment_modes.CHOICES,
        "countries": country_choices(), "endpoint_schemes": ENDPOINT_SCHEMES,
    }  # fmt: skip


def form_for(workspace: Workspace) -> Form:
    values = {name: str(getattr(workspace, name)) for name in FIELDS}
    values["einvoice_in_pdf"] = "on" if workspace.einvoice_in_pdf else ""
    return Form(values)


def check(posted: dict[str, str]) -> tuple[Form, SettingsValues | None]:
    form = Form.of(posted, FIELDS)
    postal = check_postal(form)
    endpoint_id, endpoint_scheme = check_endpoint(form)
    values = SettingsValues(
        legal_name=form.text("legal_name", "legal name", max_length=200, required=True),
        address=printed_address(postal),
        tax_id=form.tax_id("tax_id"),
        email=form.email("email", "billing e-mail address"),
        support_email=form.email("support_email", "support e-mail address"),
        default_currency=form.currency("default_currency"),
        default_locale=form.locale("default_locale"),
        default_comment_mode=form.choice("default_comment_mode", "comment setting", comment_modes.VALUES),
        bank_transfer_instructions=form.text(
            "bank_transfer_instructions", "bank transfer instructions", max_length=2000, multiline=True
        ),
        street=postal.street, street_extra=postal.street_extra, postcode=postal.postcode, city=postal.city,
        country_code=postal.country_code,
        tax_registration=form.tax_id("tax_registration"),
        registration_id=form.text("registration_id", "company registration", max_length=64),
        endpoint_id=endpoint_id, endpoint_scheme=endpoint_scheme,
        contact_name=form.text("contact_name", "contact's name", max_length=200),
        contact_phone=form.text("contact_phone", "contact's phone number", max_length=50),
        contact_email=form.email("contact_email", "contact's e-mail address"),
        iban=_account(form, "iban", _IBAN, "An IBAN starts with the country and two check digits, e.g. DE89 3704 0044 "
                      "0532 0130 00."),
        bic=_account(form, "bic", _BIC, "A BIC has 8 or 11 letters and digits, e.g. COBADEFFXXX."),
        einvoice_in_pdf=form.checked("einvoice_in_pdf"),
    )  # fmt: skip
    return form, values if form.ok else None


def _account(form: Form, name: str, pattern: re.Pattern[str], example: str) -> str:
    value = clean_text(form.values.get(name, "")).replace(" ", "").upper()
    if value and not pattern.match(value):
        form.fail(name, example)
    return value
