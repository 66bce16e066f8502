"""Which language a reader gets: their own choice (the picker's cookie), else their browser's Accept-Language
(best match; de-AT falls back to de and keeps Austrian formats), else the invoice's language, else the
workspace's default, else English."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from babel import Locale

from web.i18n.catalogs import SOURCE_LANGUAGE, Texts, available_languages, texts_for
from web.invoices.documents import InvoiceDocument
from web.locales import accepted_tags, parse_tag

# Remembered on the reader's device for a year; it says a language, nothing about the reader or the invoice.
LANGUAGE_COOKIE = "portal_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
# Where no cookie can be kept (the embed, framed by a host app in a browser that blocks third-party cookies), the
# language rides in the URL (`?locale=`) and in this header on the frame's own requests (static/js/embed-frame.js).
LOCALE_PARAM = "locale"
LOCALE_HEADER = "X-Portal-Locale"


def reader_choice(named: str | None, cookie: str | None) -> str | None:
    """The language the reader chose: the one the URL or the embed's header names, else the picker's cookie."""
    return named[:35] if named else cookie


def _supported(tag: str | None) -> tuple[str, Locale | None] | None:
    """The catalog and formatting locale for a tag, when we have its language."""
    if not tag:
        return None
    if tag in available_languages():
        return tag, None
    locale = parse_tag(tag)
    if locale is None or locale.language not in available_languages():
        return None
    return locale.language, locale


def choose_texts(
    chosen: str | None,
    accept_language: str | None,
    *fallbacks: str | None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Texts:
    """`fallbacks`: the invoice's locale, then the workspace's default. `overrides`: the workspace's wording by
    language."""
    # The languages are part of the key: a catalog registered later (the pseudo-locale) changes the answer.
    # Only ordinary headers are remembered: a client sending a new 8 KB one each time must not fill memory (and
    # a cookie naming no language we have is no choice at all).
    languages = available_languages()
    chosen = chosen if chosen in languages else None
    choose = _choose_language if len(accept_language or "") <= 256 else _choose_language.__wrapped__
    code, locale = choose(chosen, accept_language, fallbacks, languages)
    return texts_for(code, locale, (overrides or {}).get(code))


# Every page view asks, with the same few headers again and again: parsing them took a third of a cached page.
@lru_cache(maxsize=4096)
def _choose_language(
    chosen: str | None, accept_language: str | None, fallbacks: tuple[str | None, ...], languages: tuple[str, ...]
) -> tuple[str, Locale | None]:
    found = None
    accepted = [f for f in map(_supported, accepted_tags(accept_language or "")) if f is not None]
    if chosen in languages:
        # The picker names a language; the browser may say the region, whose formats the reader is used to.
        found = next((f for f in accepted if f[0] == chosen), None) or _supported(chosen)
    if found is None:
        found = next(iter(accepted), None)
    if found is None:
        found = next(filter(None, map(_supported, fallbacks)), None)
    return found or (SOURCE_LANGUAGE, None)


def document_texts(document: InvoiceDocument) -> Texts:
    """The document (web preview and PDF) is in the invoice's language, whoever reads it: the customer's when it
    was issued, else the workspace's default."""
    return choose_texts(None, None, document.invoice.locale, document.workspace_locale, overrides=document.wording)
