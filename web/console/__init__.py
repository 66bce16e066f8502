"""The billing-team console: staff sign-in, guards, and the logic behind its pages (views in web/views/console)."""

# The console's language, and the number format of a teammate who has not chosen one (staff.formats): a list and
# an invoice page always write money the same way, whatever the invoice's own locale (its document and PDF keep
# that one, and the preview shows it as the customer will). The console's texts are English.
from web.i18n.catalogs import Texts
from web.locales import babel_locale

CONSOLE_LOCALE = "en"


def console_texts(formats: str) -> Texts:
    """Refusals the console shares with the portal (an amount, a comment's text): English words, with numbers in
    the teammate's formats."""
    return Texts("en", babel_locale(formats))
