"""Stripe Invoicing into the portal: invoices made in Stripe copied into their workspace (events as triggers, the
backfill), so customers read, discuss and pay every invoice in one place."""
