"""The translation catalogs (web/i18n/locales/<language>/LC_MESSAGES/messages.po) and Texts, one reader's view
of them: a language, a Babel locale for numbers and dates, and the workspace's own wording on top.

The install step compiles each .po to .mo (`make install`); a .mo older than its .po is compiled again in memory,
so an edited catalog is never shadowed by a stale binary.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from markupsafe import Markup, escape

from web.i18n.message import Message, Money, Param
from web.invoices.money import format_money
from web.locales import format_day, format_moment, locale_tag, parse_tag

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# The languages a reader can choose, in the picker's order. Each but English has a catalog under LOCALES_DIR.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja", "ar")
# Extra catalogs registered at run time (the test suite's pseudo-locale), by code, with the locale they format in.
_registered: dict[str, tuple[Locale, gettext.NullTranslations]] = {}


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language in _registered:
        return _registered[language][1]
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    po, mo = po_path(language), po_path(language).with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def register_catalog(code: str, locale: Locale, catalog: gettext.NullTranslations) -> None:
    """Make a catalog selectable under `code` (e.g. a pseudo-locale that marks every translated text)."""
    _registered[code] = (locale, catalog)
    translations.cache_clear()


def available_languages() -> tuple[str, ...]:
    return LANGUAGES + tuple(code for code in _registered if code not in LANGUAGES)


def language_name(code: str) -> str:
    """The language in its own words ("Deutsch", "日本語"), as a picker lists it."""
    locale = _registered[code][0] if code in _registered else Locale.parse(code)
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


def text_locale(code: str, formatting: Locale | None = None) -> Locale:
    """The locale numbers and dates use: `formatting` when it is of the same language (de_AT for de), else the
    language's own."""
    if code in _registered:
        return _registered[code][0]
    if formatting is not None and formatting.language == code:
        return formatting
    return parse_tag(code) or Locale.parse(code)  # parse_tag remembers; Babel parses again each time


@dataclass(frozen=True, slots=True)
class Texts:
    """Every word one reader sees, in one language: catalog lookups, overrides, messages formatted for them."""

    code: str  # the catalog's language ("de"), or a registered code
    locale: Locale  # numbers, money and dates ("de_AT")
    # The workspace's own wording: catalog id -> text for a singular text; for a plural one, the id joined to
    # the plural category ("one", "other"...) with a NUL.
    overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """BCP 47, for lang attributes: de-AT."""
        return locale_tag(self.locale) if self.code not in _registered else self.code

    @property
    def key(self) -> str:
        """What a cached rendering for this reader depends on: language and formats."""
        return f"{self.code}:{_identifier(self.locale)}"

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def gettext(self, text: str) -> str:
        override = self.overrides.get(text)
        if override is not None:
            return override
        return translations(self.code).gettext(text)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        category = self.locale.plural_form(abs(count))
        override = self.overrides.get(f"{singular}\0{category}")
        if override is not None:
            return override
        return translations(self.code).ngettext(singular, plural, count)

    def template_for(self, message: Message) -> str:
        if message.plural:
            return self.ngettext(message.text, message.plural, message.count)
        return self.gettext(message.text)

    def values_for(self, message: Message) -> dict[str, str]:
        values = {name: self.format(value) for name, value in message.params}
        if message.plural:
            values.setdefault("num", self.format(message.count))
        return values

    def say(self, message: Message) -> str:
        """The message as plain text (mail, plain responses)."""
        return self.template_for(message) % self.values_for(message)

    def say_html(self, message: Message) -> Markup:
        """The message for an HTML page: the text and every value escaped."""
        return escape(self.template_for(message)) % self.values_for(message)

    def format(self, value: Param) -> str:
        if isinstance(value, Message):
            return self.say(value)
        if isinstance(value, Money):
            return format_money(value.minor, value.currency, str(self.locale))
        if isinstance(value, datetime):
            return format_moment(value, self.locale)
        if isinstance(value, date):
            return format_day(value, self.locale)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return format_decimal(value, locale=self.locale)
        return value


@lru_cache(maxsize=512)
def _identifier(locale: Locale) -> str:
    """str(locale) rebuilds the identifier each time (about 10 µs), and every cached page's key asks for it."""
    return str(locale)


def texts_for(code: str, formatting: Locale | None = None, overrides: Mapping[str, str] | None = None) -> Texts:
    return Texts(code, text_locale(code, formatting), overrides or {})


ENGLISH = texts_for(SOURCE_LANGUAGE)


def unregister_catalog(code: str) -> None:
    _registered.pop(code, None)
    translations.cache_clear()
