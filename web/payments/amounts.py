"""Strict parsing and validation of a typed amount (a customer's card payment, or a transfer the billing team
received), with messages that name the broken rule.

Never float: digits only (ASCII), the reader's decimal symbol, grouping only where the locale puts it.
The browser mirrors these rules as hints; this is the check that counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_decimal_symbol, get_group_symbol

from web.i18n.message import Message, Money, Refusal, msg, msg_plural
from web.invoices.money import Currency, get_currency
from web.locales import babel_locale

MAX_INPUT_LENGTH = 32
GREATER_THAN_ZERO = msg("Enter an amount greater than zero.")


class AmountError(Refusal):
    """A refused amount; its message names the broken rule."""


@dataclass(frozen=True, slots=True)
class AmountRules:
    currency: Currency
    due: int  # minor units still payable

    @property
    def smallest_charge(self) -> int:
        return max(self.currency.minimum_charge or 1, self.currency.charge_step)

    @property
    def largest_charge(self) -> int:
        """All that cards can pay of what is due: rounded down to an amount the card can charge."""
        return self.due - self.card_rest if self.due > 0 else 0

    @property
    def card_rest(self) -> int:
        """The part of what is due that no card payment can ever pay: KWD 12.345 leaves 0.005, as a
        three-decimal charge must end in 0. It has to be paid another way."""
        return self.due % self.currency.charge_step if self.due > 0 else 0

    @property
    def largest_part(self) -> int:
        """The most one card payment may be and still leave enough for a later card payment (at most Stripe's
        maximum); below smallest_charge when no part payment is possible."""
        step = self.currency.charge_step
        return min(self.largest_charge - self.smallest_charge, self.currency.maximum_charge // step * step)

    @property
    def highest_charge(self) -> int:
        """The most one card payment may be now: all that cards can pay, or when that is above Stripe's maximum
        the largest part that leaves a card-payable rest. What the form is prefilled with."""
        if self.largest_charge <= self.currency.maximum_charge:
            return self.largest_charge
        return self.largest_part

    @property
    def takes_parts(self) -> bool:
        """Whether a card may pay less than highest_charge (a part that leaves at least the smallest payment)."""
        return self.largest_part >= self.smallest_charge

    @property
    def decimals(self) -> int:
        """Digits a person may type after the decimal symbol: ISK has none although Stripe counts in hundredths."""
        return self.currency.exponent - (len(str(self.currency.rounding_step)) - 1)


def decimal_and_group(locale: str) -> tuple[str, str]:
    loc = babel_locale(locale)
    decimal, group = get_decimal_symbol(loc), get_group_symbol(loc)
    # Narrow no-break and no-break spaces are typed as plain spaces.
    if group in ("\u202f", "\xa0"):
        group = " "
    return decimal, group


def parse_amount(text: str, rules: AmountRules, locale: str) -> int:
    """The amount a customer wants to pay by card, in minor units, or AmountError with a readable message."""
    return validate_amount(_parse_minor(text, rules, locale, missing=msg("Enter the amount you want to pay.")), rules)


def parse_received_amount(text: str, currency_code: str, due: int, locale: str) -> int:
    """An amount the billing team received (a bank transfer), in minor units, or AmountError.

    The same parsing as a card payment and part payments allowed, but none of the card rules (charge step,
    minimum and maximum charge): the money has already arrived, whatever its amount. It cannot exceed what is due.
    """
    if due <= 0:
        raise AmountError(msg("Nothing is due on this invoice, so there is no payment to record."))
    minor = _parse_minor(text, rules_for(currency_code, due), locale, missing=msg("Enter the amount received."))
    if minor <= 0:
        raise AmountError(GREATER_THAN_ZERO)
    if minor > due:
        raise AmountError(
            msg(
                "The amount received can be at most %(amount)s, the amount still due.", amount=Money(due, currency_code)
            )
        )
    return minor


def _parse_minor(text: str, rules: AmountRules, locale: str, *, missing: Message) -> int:
    """The typed amount in minor units (zero allowed: callers validate), or AmountError for what is not an amount."""
    currency = rules.currency
    raw = (text or "").strip().replace("\u202f", " ").replace("\xa0", " ")
    if not raw:
        raise AmountError(missing)
    decimal, group = decimal_and_group(locale)
    example = Money(12345 * 10 ** max(currency.exponent - 2, 0), currency.code)
    if len(raw) > MAX_INPUT_LENGTH:
        raise AmountError(
            msg("That amount is too long. Enter it with digits only, for example %(example)s.", example=example)
        )
    if raw.startswith("-") or raw.startswith("−"):
        raise AmountError(msg("Enter a positive amount."))
    allowed = set("0123456789") | {decimal, group}
    if any(ch not in allowed for ch in raw):
        raise AmountError(
            msg(
                "Use digits only, with “%(decimal)s” for decimals (for example %(example)s).",
                decimal=decimal,
                example=example,
            )
        )
    whole, _, fraction = raw.partition(decimal)
    if decimal in fraction or group in fraction:
        raise AmountError(
            msg("“%(text)s” is not a number. Use “%(decimal)s” once, for decimals.", text=raw, decimal=decimal)
        )
    if group in whole:
        if not re.fullmatch(rf"\d{{1,3}}({re.escape(group)}\d{{3}})+", whole):
            raise AmountError(
                msg("The thousands separator “%(group)s” is in the wrong place in “%(text)s”.", group=group, text=raw)
            )
        # "0.015" in German is someone's 0,015, not fifteen: no number is written with thousands before a 0.
        if whole.startswith("0"):
            raise AmountError(
                msg(
                    "“%(text)s” is not a number: an amount with the thousands separator “%(group)s” cannot start "
                    "with 0. Use “%(decimal)s” for decimals (for example %(example)s).",
                    text=raw, group=group, decimal=decimal, example=example,
                )
            )  # fmt: skip
    whole = whole.replace(group, "")
    if not whole and not fraction:
        raise AmountError(missing)
    if decimal in raw and not fraction:
        raise AmountError(msg("Add the decimals after “%(decimal)s”, or remove it.", decimal=decimal))
    if len(fraction) > rules.decimals:
        if rules.decimals == 0:
            raise AmountError(
                msg("%(currency)s amounts have no decimals: enter a whole number.", currency=currency.code)
            )
        raise AmountError(
            msg_plural(
                "%(currency)s amounts have at most %(num)s decimal.",
                "%(currency)s amounts have at most %(num)s decimals.",
                rules.decimals,
                currency=currency.code,
            )
        )
    return int(Decimal(f"{whole or 0}.{fraction or 0}").scaleb(currency.exponent))


def validate_amount(minor: int, rules: AmountRules) -> int:
    currency = rules.currency

    def money(value: int) -> Money:
        return Money(value, currency.code)

    if minor <= 0:
        raise AmountError(GREATER_THAN_ZERO)
    if minor % currency.charge_step:
        raise AmountError(
            msg(
                "%(currency)s card payments must end in 0 in the last decimal place (for example %(example)s).",
                currency=currency.code, example=money(minor - minor % currency.charge_step),
            )
        )  # fmt: skip
    if minor > rules.due:
        raise AmountError(msg("You can pay at most %(amount)s, the amount still due.", amount=money(rules.due)))
    if minor > currency.maximum_charge:
        raise AmountError(
            msg(
                "A single card payment can be at most %(amount)s. Pay in several parts, or by bank transfer.",
                amount=money(currency.maximum_charge),
            )
        )
    minimum = currency.minimum_charge
    if minimum is not None and minor < minimum:
        raise AmountError(
            msg(
                "The smallest card payment in %(currency)s is %(amount)s.",
                currency=currency.code,
                amount=money(minimum),
            )
        )
    # A part payment must leave either nothing a card could pay, or enough for one more card payment: else the
    # rest could never be paid by card.
    left = rules.largest_charge - minor
    if 0 < left < rules.smallest_charge:
        smallest = money(rules.smallest_charge)
        if not rules.takes_parts:
            raise AmountError(
                msg(
                    "Pay %(amount)s in one card payment: a smaller amount would leave less than the smallest card "
                    "payment (%(smallest)s), which could then not be paid by card.",
                    amount=money(rules.largest_charge), smallest=smallest,
                )
            )  # fmt: skip
        left_over = money(rules.due - minor)
        if rules.largest_charge <= currency.maximum_charge:
            raise AmountError(
                msg(
                    "That would leave %(left)s, less than the smallest card payment (%(smallest)s), which could then "
                    "not be paid by card. Pay %(all)s, or at most %(part)s.",
                    left=left_over, smallest=smallest, all=money(rules.largest_charge), part=money(rules.largest_part),
                )
            )  # fmt: skip
        raise AmountError(
            msg(
                "That would leave %(left)s, less than the smallest card payment (%(smallest)s), which could then "
                "not be paid by card. Pay at most %(part)s.",
                left=left_over, smallest=smallest, part=money(rules.largest_part),
            )
        )  # fmt: skip
    return minor


def card_payable_due(rules: AmountRules) -> bool:
    """Whether any card payment is possible: something is due and at least the minimum charge."""
    return rules.due >= rules.smallest_charge


def rules_for(currency_code: str, due: int) -> AmountRules:
    return AmountRules(get_currency(currency_code), due)


def format_for_input(minor: int, rules: AmountRules, locale: str) -> str:
    """Prefill for the amount field, in the form parse_amount accepts back (no grouping, reader's decimal)."""
    decimal, _ = decimal_and_group(locale)
    value = Decimal(minor).scaleb(-rules.currency.exponent)
    text = f"{value:.{rules.decimals}f}"
    return text.replace(".", decimal)
