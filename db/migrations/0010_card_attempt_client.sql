-- Who started each card attempt (the peer address), so new attempts can be limited per client as well as per
-- invoice: each one creates a PaymentIntent at Stripe, which is work and an API call we pay for.
ALTER TABLE payments ADD COLUMN client text NOT NULL DEFAULT '' CHECK (length(client) <= 100);
CREATE INDEX payments_card_attempts_by_client ON payments (client, created_at) WHERE method = 'card';
CREATE INDEX payments_card_attempts_by_invoice ON payments (invoice_id, created_at) WHERE method = 'card';
