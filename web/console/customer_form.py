"""The customer form: what a billing team may store about a buyer, checked field by field."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from db.customers import Customer, select_customer
from db.rows import Connection
from web.console.fields import Form
from web.locales import babel_locale

FIELDS = ("name", "email", "billing_address", "tax_id", "locale")
# Offered in the list; any locale Babel knows is accepted from a hand-made request.
COMMON_LOCALES = (
    "en", "en_GB", "en_IE", "en_US", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "fr_CH", "nl_NL", "nl_BE",
    "it_IT", "es_ES", "pt_PT", "pl_PL", "sv_SE", "da_DK", "fi_FI", "nb_NO", "is_IS", "ja_JP", "ar_KW",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CustomerValues:
    name: str
    email: str
    billing_address: str
    tax_id: str
    locale: str


@cache
def locale_choices() -> tuple[tuple[str, str], ...]:
    return tuple((tag, babel_locale(tag).get_display_name("en") or tag) for tag in COMMON_LOCALES)


def form_for(customer: Customer | None, default_locale: str = "en") -> Form:
    if customer is None:
        return Form({name: "" for name in FIELDS} | {"locale": default_locale})
    return Form({name: str(getattr(customer, name)) for name in FIELDS})


def check(posted: dict[str, str]) -> tuple[Form, CustomerValues | None]:
    form = Form.of(posted, FIELDS)
    values = CustomerValues(
        name=form.text("name", "customer's name", max_length=200, required=True),
        # Needed to send an invoice, not to keep a customer: the send step says so when it is missing.
        email=form.email("email"),
        billing_address=form.text("billing_address", "billing address", max_length=1000, multiline=True),
        tax_id=form.tax_id("tax_id"),
        locale=form.locale("locale"),
    )
    return form, values if form.ok else None


async def find_customer(conn: Connection, workspace_id: int, text: str) -> Customer | None:
    """The customer a posted id names, in this workspace only; anything not an id of ours is None."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return await select_customer(conn, workspace_id, int(text))
