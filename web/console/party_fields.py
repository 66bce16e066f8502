"""The address in parts and the electronic address, as the seller (settings) and customer forms take them: what an
e-invoice needs (EN 16931 BG-5, BG-8, BT-34, BT-49). The printed address is made from the parts, so the page, the
PDF and the e-invoice always say the same."""

from __future__ import annotations

from functools import cache

from babel import Locale

from db.postal import PostalAddress
from web.console.fields import Form, clean_text

POSTAL_FIELDS = ("street", "street_extra", "postcode", "city", "country_code")
ENDPOINT_FIELDS = ("endpoint_id", "endpoint_scheme")

# The EAS codes a billing team is likely to need (the CEF list has many more: any four digits are accepted).
ENDPOINT_SCHEMES = (
    ("", "Their e-mail address (the default)"),
    ("EM", "E-mail address"),
    ("0204", "0204 · Leitweg-ID (German public buyers)"),
    ("9930", "9930 · German VAT number"),
    ("9957", "9957 · French VAT number"),
    ("0009", "0009 · SIRET (France)"),
    ("0088", "0088 · Global Location Number (GLN)"),
    ("0106", "0106 · Dutch Chamber of Commerce (KvK)"),
    ("0208", "0208 · Belgian enterprise number"),
    ("0192", "0192 · Norwegian organisation number"),
    ("0007", "0007 · Swedish organisation number"),
    ("0060", "0060 · DUNS number"),
)
# Where the city comes before the postcode on an envelope.
_CITY_FIRST = {"GB", "US", "CA", "AU", "IE", "NZ"}


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 countries by English name (regions like 001 and 'ZZ' left out)."""
    names = Locale("en").territories
    countries = ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha() and code != "ZZ")
    return (("", "Choose a country"), *sorted(countries, key=lambda pair: pair[1]))


def check_postal(form: Form) -> PostalAddress:
    street = form.text("street", "street and number", max_length=200)
    street_extra = form.text("street_extra", "second address line", max_length=200)
    postcode = form.text("postcode", "postcode", max_length=20)
    city = form.text("city", "city", max_length=100)
    country = form.values.get("country_code", "").strip().upper()
    if country and country not in dict(country_choices()):
        form.fail("country_code", "Choose the country from the list.")
    if (street or postcode or city) and not country:
        form.fail("country_code", "Choose the country: e-invoices need it.")
    return PostalAddress(street, street_extra, postcode, city, country)


def check_endpoint(form: Form) -> tuple[str, str]:
    endpoint = clean_text(form.values.get("endpoint_id", ""))
    scheme = form.values.get("endpoint_scheme", "").strip().upper()
    if len(endpoint) > 200:
        form.fail("endpoint_id", "The electronic address can be at most 200 characters.")
    if scheme and not (scheme == "EM" or (len(scheme) == 4 and scheme.isascii() and scheme.isdigit())):
        form.fail("endpoint_scheme", "Choose the kind of electronic address from the list.")
    if endpoint and not scheme:
        form.fail("endpoint_scheme", "Choose what kind of electronic address this is.")
    if scheme and not endpoint:
        form.fail("endpoint_id", "Enter the electronic address, or choose “Their e-mail address”.")
    return endpoint, scheme


def printed_address(postal: PostalAddress) -> str:
    """The address as the document prints it, line by line, from its parts (the country by its English name)."""
    place = (postal.city, postal.postcode) if postal.country_code in _CITY_FIRST else (postal.postcode, postal.city)
    country = Locale("en").territories.get(postal.country_code, "") if postal.country_code else ""
    lines = (postal.street, postal.street_extra, " ".join(part for part in place if part), country)
    return "\n".join(line for line in lines if line)


def postal_values(record: object) -> dict[str, str]:
    """A workspace's or customer's parts, for a form to show."""
    return {name: str(getattr(record, name, "") or "") for name in (*POSTAL_FIELDS, *ENDPOINT_FIELDS)}
