"""Paying an invoice: amount rules, checkout, confirmation on the server, settlement, and what Stripe's events
do to the ledger."""
