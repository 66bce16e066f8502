"""Receipts: one for every payment that succeeded on an invoice, as a page, a PDF and an e-mail."""
