"""A text to show somebody, not yet in any language: a catalog id and its parameters, formatted at render time.

Code that refuses something raises a Refusal carrying a Message; the template (or mail) that shows it formats it
in the reader's language, with money, numbers and dates in the reader's locale. `msg` and `msg_plural` are the
extraction keywords (babel.cfg), so every id written here lands in the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Union


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units, formatted for the reader when the message is shown."""

    minor: int
    currency: str


Param = Union[str, int, Money, date, datetime, "Message"]


@dataclass(frozen=True, slots=True)
class Message:
    text: str  # the catalog id (English)
    params: tuple[tuple[str, Param], ...] = ()
    plural: str = ""  # the plural id, when the text depends on `count`
    count: int = 0

    @property
    def parameters(self) -> dict[str, Param]:
        return dict(self.params)


def msg(text: str, /, **params: Param) -> Message:
    return Message(text, tuple(params.items()))


def msg_plural(singular: str, plural: str, count: int, /, **params: Param) -> Message:
    """`%(num)s` in either text is the count, formatted for the reader (as Jinja's {% trans count=… %} does)."""
    return Message(singular, tuple(params.items()), plural=plural, count=count)


class Refusal(Exception):
    """Something the person asked for was refused; `message` says why, in words they can act on."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text)
        self.message = message


def then(first: Message, second: Message) -> Message:
    """Two sentences one after the other, joined the way the reader's language joins them."""
    # Translators: two sentences, one after the other. Keep the space between them unless your language writes
    # sentences without one (Japanese: "%(first)s%(then)s").
    return msg("%(first)s %(then)s", first=first, then=second)


def sentences(*parts: Message) -> Message:
    joined = parts[0]
    for part in parts[1:]:
        joined = then(joined, part)
    return joined
