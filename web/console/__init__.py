"""The billing-team console: staff sign-in, guards, and the logic behind its pages (views in web/views/console)."""

# The console's one language and number format, for every amount it shows or reads: a list and an invoice page
# always write money the same way, whatever the invoice's own locale (its document and PDF keep that one, and the
# preview shows it as the customer will). The console's texts are English until translations arrive.
from web.i18n.catalogs import texts_for
from web.locales import babel_locale

CONSOLE_LOCALE = "en"
# Refusals the console shares with the portal (an amount, a comment's text), worded for the console.
CONSOLE_TEXTS = texts_for("en", babel_locale(CONSOLE_LOCALE))
