"""Who may write in an invoice's thread, in the words the console offers for each stored mode.

One list for the workspace default (settings) and the per-invoice choice, so the two cannot drift apart. Each
label says what web/comments/access.py does with the mode: `customer` sends a code only to the customer's
address on file, `otp` to any address that asks, `closed` sends none (the billing team's console replies are
not limited by the mode).
"""

from __future__ import annotations

CHOICES = (
    ("customer", "Only the customer: a one-time code is sent only to the customer's e-mail address on file"),
    ("otp", "Anyone with the invoice link who confirms an e-mail address with a one-time code"),
    ("closed", "Read-only: nobody can write on the invoice page; the billing team can still reply from the console"),
)
VALUES = tuple(value for value, _ in CHOICES)
