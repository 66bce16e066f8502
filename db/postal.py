"""A postal address in parts (EN 16931 BG-5 / BG-8), as workspaces and customers keep it beside the printed text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PostalAddress:
    street: str = ""
    street_extra: str = ""
    postcode: str = ""
    city: str = ""
    country_code: str = ""  # ISO 3166-1 alpha-2, or '' when unknown

    def values(self) -> tuple[str, str, str, str, str]:
        return (self.street, self.street_extra, self.postcode, self.city, self.country_code)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyColumns:
    """The columns workspaces and customers both have for e-invoices (0023_einvoicing.sql): the address in parts,
    whether a person has checked the parts split from a typed address, and the electronic address (BT-34/BT-49)."""

    street: str = ""
    street_extra: str = ""
    postcode: str = ""
    city: str = ""
    country_code: str = ""
    address_needs_review: bool = False
    endpoint_id: str = ""
    endpoint_scheme: str = ""
