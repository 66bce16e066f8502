"""The reader's language for one request: the hook every customer-facing text and number goes through."""

from __future__ import annotations

from collections.abc import Mapping

from web.i18n.catalogs import Texts
from web.i18n.choice import LANGUAGE_COOKIE, LOCALE_HEADER, LOCALE_PARAM, choose_texts, reader_choice
from web.state import AppRequest


def reader_texts(
    request: AppRequest, *fallbacks: str | None, overrides: Mapping[str, Mapping[str, str]] | None = None
) -> Texts:
    """The language the URL or the embed's header names, else the picker's choice on this device, else
    Accept-Language, else `fallbacks` (the invoice's locale, the workspace's default), else English."""
    return choose_texts(
        chosen_language(request), request.headers.get("accept-language"), *fallbacks, overrides=overrides
    )


def chosen_language(request: AppRequest) -> str | None:
    """What the reader chose, if anything (an unknown code counts as no choice)."""
    named = request.query_params.get(LOCALE_PARAM) or request.headers.get(LOCALE_HEADER)
    return reader_choice(named, request.cookies.get(LANGUAGE_COOKIE))
