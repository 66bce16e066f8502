-- Each workspace connects its own Stripe account (console → Settings). Keys and the webhook signing secret are
-- sealed by the application (web/secret_box.py: "sealed:v1:…"); the key's mode and last four are kept apart so the
-- console can name the key without opening it. One row per workspace: disconnecting deletes it.
CREATE TABLE stripe_connections (
    workspace_id        bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id          text NOT NULL CHECK (account_id ~ '^acct_[A-Za-z0-9]{1,250}$'),
    account_name        text NOT NULL DEFAULT '' CHECK (length(account_name) <= 300),
    livemode            boolean NOT NULL,
    secret_key          text NOT NULL CHECK (secret_key LIKE 'sealed:%'),
    key_kind            text NOT NULL CHECK (key_kind IN ('secret', 'restricted')),
    key_last4           text NOT NULL CHECK (length(key_last4) <= 4),
    publishable_key     text NOT NULL CHECK (publishable_key ~ '^pk_(test|live)_[A-Za-z0-9_]{1,250}$'),
    webhook_endpoint_id text NOT NULL CHECK (webhook_endpoint_id ~ '^we_[A-Za-z0-9]{1,250}$'),
    webhook_url         text NOT NULL CHECK (length(webhook_url) <= 2000),
    webhook_secret      text NOT NULL CHECK (webhook_secret LIKE 'sealed:%'),
    -- Room for Stripe Connect (OAuth onboarding, which needs Stripe's servers): the connected account a platform
    -- key acts for (the Stripe-Account header). NULL while keys are pasted by the workspace itself.
    connect_account_id  text CHECK (connect_account_id ~ '^acct_[A-Za-z0-9]{1,250}$'),
    connected_by        text NOT NULL DEFAULT '' CHECK (length(connected_by) <= 320),
    connected_at        timestamptz NOT NULL DEFAULT now()
);

-- Whether the deployment's Stripe account (STRIPE_SECRET_KEY …) serves the workspace while it has none of its own:
-- true for every workspace, so a deployment configured before workspaces could connect keeps working; false once
-- the workspace connects its own, and disconnecting that one stops card payment instead of falling back.
ALTER TABLE workspaces ADD COLUMN deployment_stripe boolean NOT NULL DEFAULT true;

-- The roadmap's placeholder, never used: stripe_connections.connect_account_id takes its place.
ALTER TABLE workspaces DROP COLUMN stripe_account_id;

-- The Stripe account a card payment's PaymentIntent lives in: the workspace's connected account (its acct_ id),
-- or NULL for the deployment's account from the environment (STRIPE_SECRET_KEY). Its events and refunds must
-- come from that same account.
ALTER TABLE payments ADD COLUMN stripe_account_id text CHECK (length(stripe_account_id) <= 255);

-- Events are applied once per endpoint: two workspaces connected to the same Stripe account each receive the
-- same event id at their own endpoint. NULL: the deployment's endpoint (/webhooks/stripe).
ALTER TABLE stripe_events ADD COLUMN workspace_id bigint REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_pkey;
CREATE UNIQUE INDEX stripe_events_once ON stripe_events (coalesce(workspace_id, 0), id);
CREATE INDEX stripe_events_newest ON stripe_events (workspace_id, received_at DESC);
