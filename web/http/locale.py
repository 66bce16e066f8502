"""The reader's locale for one request: the hook every customer-facing text and number goes through."""

from __future__ import annotations

from babel import Locale

from web.locales import negotiate_locale
from web.state import AppRequest


def reader_locale(request: AppRequest, fallback: str) -> Locale:
    """The reader's first known locale from Accept-Language, else `fallback` (the invoice's own locale)."""
    return negotiate_locale(request.headers.get("accept-language"), fallback)
