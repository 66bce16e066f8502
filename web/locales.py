"""Locale tags (stored, or from Accept-Language) to Babel locales, and date formatting with Babel."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

DEFAULT_LOCALE = "en"
_TAG = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")
# A header longer than this is not from a real browser; we stop reading rather than parse megabytes.
_MAX_HEADER = 512
_MAX_CANDIDATES = 12


@lru_cache(maxsize=512)
def parse_tag(tag: str) -> Locale | None:
    if not _TAG.match(tag):
        return None
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        # "de-XX" is not a known locale but "de" is: a reader asking for it still wants German formats.
        language = tag.replace("_", "-").split("-")[0]
        if language == tag:
            return None
        return parse_tag(language)


def babel_locale(tag: str | None) -> Locale:
    """A Babel Locale for a stored or requested tag, falling back to English for anything unknown."""
    found = parse_tag(tag) if tag else None
    if found is None:
        found = parse_tag(DEFAULT_LOCALE)
        assert found is not None  # Babel always knows English
    return found


def is_known_locale(tag: str) -> bool:
    return parse_tag(tag) is not None


@lru_cache(maxsize=1024)
def accepted_tags(header: str) -> tuple[str, ...]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_CANDIDATES]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if tag and tag != "*" and 0 < quality <= 1:
            weighted.append((-quality, index, tag))
    return tuple(tag for _, _, tag in sorted(weighted))


def locale_tag(locale: Locale) -> str:
    """BCP 47 form for the HTML lang attribute: 'de_CH' -> 'de-CH'."""
    return str(locale).replace("_", "-")


def format_day(value: date | None, locale: Locale) -> str:
    return format_date(value, format="medium", locale=locale) if value else ""


def format_moment(value: datetime | None, locale: Locale) -> str:
    return format_datetime(value, format="medium", locale=locale) if value else ""
