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
