"""The customer form: what a billing team may store about a buyer, checked field by field."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from db.customers import Customer, select_customer
from db.postal import PostalAddress
from db.rows import Connection
from web.console.fields import Form
from web.console.party_fields import (
    ENDPOINT_FIELDS,
    POSTAL_FIELDS,
    check_endpoint,
    check_postal,
    postal_values,
    printed_address,
)
from web.http.urls import parse_id
from web.locales import babel_locale

FIELDS = ("name", "email", "tax_id", "locale", "buyer_reference", *POSTAL_FIELDS, *ENDPOINT_FIELDS)
# Offered in the list; any locale Babel knows is accepted from a hand-made request.
COMMON_LOCALES = (
    "en", "en_GB", "en_IE", "en_US", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "fr_CH", "nl_NL", "nl_BE",
    "it_IT", "es_ES", "pt_PT", "pl_PL", "sv_SE", "da_DK", "fi_FI", "nb_NO", "is_IS", "ja_JP", "ar_KW",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CustomerValues:
    name: str
    email: str
    billing_address: str  # printed, made from the parts
    tax_id: str
    locale: str
    postal: PostalAddress
    endpoint_id: str
    endpoint_scheme: str
    buyer_reference: str


@cache
def locale_choices() -> tuple[tuple[str, str], ...]:
    return tuple((tag, babel_locale(tag).get_display_name("en") or tag) for tag in COMMON_LOCALES)


def form_for(customer: Customer | None, default_locale: str = "en") -> Form:
    if customer is None:
        return Form({name: "" for name in FIELDS} | {"locale": default_locale})
    return Form({name: str(getattr(customer, name)) for name in FIELDS} | postal_values(customer))


def check(posted: dict[str, str]) -> tuple[Form, CustomerValues | None]:
    form = Form.of(posted, FIELDS)
    postal = check_postal(form)
    endpoint_id, endpoint_scheme = check_endpoint(form)
    values = CustomerValues(
        name=form.text("name", "customer's name", max_length=200, required=True),
        # Needed to send an invoice, not to keep a customer: the send step says so when it is missing.
        email=form.email("email"),
        billing_address=printed_address(postal),
        tax_id=form.tax_id("tax_id"),
        locale=form.locale("locale"),
        postal=postal,
        endpoint_id=endpoint_id,
        endpoint_scheme=endpoint_scheme,
        buyer_reference=form.text("buyer_reference", "buyer reference", max_length=200),
    )
    return form, values if form.ok else None


async def find_customer(conn: Connection, workspace_id: int, text: str) -> Customer | None:
    """The customer a posted id names, in this workspace only; anything not an id of ours is None."""
    customer_id = parse_id(text.strip())
    if customer_id is None:
        return None
    return await select_customer(conn, workspace_id, customer_id)
