-- Card payments through Stripe PaymentIntents, and the webhook events already applied (each exactly once).
ALTER TABLE payments
    ADD COLUMN attempt_key text UNIQUE CHECK (length(attempt_key) <= 100),
    ADD COLUMN failure_message text NOT NULL DEFAULT '' CHECK (length(failure_message) <= 1000),
    -- Stripe's creation time of the event that set the current status: an older event never overrides it.
    ADD COLUMN status_event_at timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE stripe_events (
    id          text PRIMARY KEY CHECK (length(id) <= 255),
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
