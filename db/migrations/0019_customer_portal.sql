-- Stripe's customer portal offered in the billing history (a customer with a Stripe customer id manages their
-- cards and subscriptions there). Like issue_invoices, it belongs to the connected account.
ALTER TABLE stripe_connections ADD COLUMN customer_portal boolean NOT NULL DEFAULT false;
