-- Portal → Stripe: a workspace whose books live in Stripe has each invoice it sends also issued in its connected
-- Stripe account (the "mirror"), and what happens to the invoice afterwards (void, write-off, payments) done there
-- too. The portal's invoice stays the document of record (its number, lines and totals); the Stripe invoice is
-- made to match it to the cent.

-- The setting belongs to the connection: it means nothing without a connected account, and goes with it.
ALTER TABLE stripe_connections ADD COLUMN issue_invoices boolean NOT NULL DEFAULT false;

-- One row per sent invoice that is (or is being) issued in Stripe, with Stripe's side as last seen.
CREATE TABLE stripe_mirrors (
    invoice_id         bigint PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
    workspace_id       bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- The account it is issued in (the workspace's at Send): later steps go to that account only.
    account_id         text NOT NULL CHECK (length(account_id) <= 255),
    stripe_customer_id text CHECK (length(stripe_customer_id) <= 255),
    stripe_invoice_id  text CHECK (length(stripe_invoice_id) <= 255),
    stripe_number      text CHECK (length(stripe_number) <= 255),
    -- 'pending' until Stripe has it; then Stripe's status (draft while being built, open, paid, uncollectible, void).
    stripe_status      text NOT NULL DEFAULT 'pending' CHECK (length(stripe_status) <= 40),
    total              bigint,
    amount_remaining   bigint,
    hosted_invoice_url text NOT NULL DEFAULT '' CHECK (length(hosted_invoice_url) <= 2000),
    invoice_pdf        text NOT NULL DEFAULT '' CHECK (length(invoice_pdf) <= 2000),
    synced_at          timestamptz,
    UNIQUE (account_id, stripe_invoice_id)
);

-- The outbox of Stripe steps: written in the transaction that causes them (Send, void, write-off, a payment), so a
-- step is never lost when Stripe is down, then applied in order per invoice with retries.
CREATE TABLE stripe_mirror_tasks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id      bigint NOT NULL REFERENCES stripe_mirrors (invoice_id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('issue', 'void', 'uncollectible', 'payment')),
    payment_id      bigint REFERENCES payments (id),
    CHECK ((kind = 'payment') = (payment_id IS NOT NULL)),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The lease of the worker running the step (NULL: none runs it): another process leaves it alone until it
    -- ends, and a worker whose lease ran out (and was taken again) cannot record the step's end.
    taken_at        timestamptz,
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    -- Stripe refused the step (not unreachable): retrying cannot help until a person acts (console: Retry now).
    stuck           boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz
);
CREATE UNIQUE INDEX stripe_mirror_tasks_once ON stripe_mirror_tasks (invoice_id, kind) WHERE kind <> 'payment';
CREATE UNIQUE INDEX stripe_mirror_tasks_payment ON stripe_mirror_tasks (payment_id);
CREATE INDEX stripe_mirror_tasks_waiting ON stripe_mirror_tasks (next_attempt_at) WHERE done_at IS NULL;

-- A mirrored invoice voided or written off, or paid (by card through the portal, or recorded by billing), gets its
-- Stripe step in the same transaction: triggers, like the payment activity log, so no code path can forget it.
CREATE FUNCTION queue_mirror_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('void', 'uncollectible') AND OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO stripe_mirror_tasks (invoice_id, kind)
        SELECT invoice_id, NEW.status FROM stripe_mirrors WHERE invoice_id = NEW.id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER invoices_queue_mirror AFTER UPDATE OF status ON invoices
    FOR EACH ROW EXECUTE FUNCTION queue_mirror_status();

CREATE FUNCTION queue_mirror_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'succeeded' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        INSERT INTO stripe_mirror_tasks (invoice_id, kind, payment_id)
        SELECT invoice_id, 'payment', NEW.id FROM stripe_mirrors WHERE invoice_id = NEW.invoice_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER payments_queue_mirror AFTER INSERT OR UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION queue_mirror_payment();
