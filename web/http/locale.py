"""The reader's language for one request: the hook every customer-facing text and number goes through."""

from __future__ import annotations

from collections.abc import Mapping

from web.i18n.catalogs import Texts
from web.i18n.choice import LANGUAGE_COOKIE, choose_texts
from web.state import AppRequest


def reader_texts(
    request: AppRequest, *fallbacks: str | None, overrides: Mapping[str, Mapping[str, str]] | None = None
) -> Texts:
    """The picker's choice on this device, else Accept-Language, else `fallbacks` (the invoice's locale, the
    workspace's default), else English."""
    return choose_texts(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"), *fallbacks, overrides=overrides
    )
