"""The billing-team console: staff sign-in, guards, and the logic behind its pages (views in web/views/console)."""

# The console's one language and number format, for every amount it shows or reads: a list and an invoice page
# always write money the same way, whatever the invoice's own locale (its document and PDF keep that one, and the
# preview shows it as the customer will). The console's texts are English until translations arrive.
CONSOLE_LOCALE = "en"
