"""Invoice totals the EN 16931 way: line nets rounded, VAT per VAT category and rate on the sum of that group's
nets (BR-CO-17), and total = net + VAT."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from web.invoices.money import get_currency


class PricedLine(Protocol):
    """What totals need of a line: stored invoice lines, the builder's parsed lines and LineAmounts all have it."""

    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def tax_rate(self) -> Decimal: ...
    @property
    def tax_category(self) -> str: ...


@dataclass(frozen=True, slots=True)
class LineAmounts:
    quantity: Decimal
    unit_price: int  # minor units
    tax_rate: Decimal  # percent
    tax_category: str = "S"


@dataclass(frozen=True, slots=True)
class TaxGroup:
    rate: Decimal
    net: int
    tax: int
    # EN 16931 VAT category (S standard, Z zero, E exempt, AE reverse charge, K intra-EU, G export, O outside scope):
    # 0 % reverse charge and 0 % export are two groups, as an e-invoice must list them.
    category: str = "S"


@dataclass(frozen=True, slots=True)
class Totals:
    line_nets: tuple[int, ...]
    tax_groups: tuple[TaxGroup, ...]  # ordered by rate, descending, then by category
    net: int
    tax: int
    total: int


# Standard first, then the zero-rate categories from the most to the least common.
_ORDER = {category: index for index, category in enumerate(("S", "Z", "AE", "K", "G", "E", "O"))}


def round_to_step(value: Decimal, step: int) -> int:
    """Round half away from zero to a multiple of `step` minor units (commercial rounding)."""
    return int((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step


def line_net(line: PricedLine, currency: str) -> int:
    return round_to_step(line.quantity * line.unit_price, get_currency(currency).rounding_step)


def compute_totals(lines: Iterable[PricedLine], currency: str) -> Totals:
    step = get_currency(currency).rounding_step
    materialised = list(lines)
    nets = tuple(line_net(line, currency) for line in materialised)
    by_group: dict[tuple[Decimal, str], int] = {}
    for line, net in zip(materialised, nets, strict=True):
        # normalize() so 19, 19.0 and 19.000 are one VAT group.
        key = (line.tax_rate.normalize(), line.tax_category)
        by_group[key] = by_group.get(key, 0) + net
    groups = tuple(
        TaxGroup(rate=rate, net=net, tax=round_to_step(net * rate / 100, step), category=category)
        for (rate, category), net in sorted(by_group.items(), key=lambda item: (-item[0][0], _ORDER[item[0][1]]))
    )
    net_total = sum(nets)
    tax_total = sum(group.tax for group in groups)
    return Totals(line_nets=nets, tax_groups=groups, net=net_total, tax=tax_total, total=net_total + tax_total)
