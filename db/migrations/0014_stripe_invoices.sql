-- Invoices made in Stripe Invoicing, copied into the portal (invoices.source = 'stripe'): Stripe stays the ledger
-- of record, so its own amounts are kept as Stripe computed them (never recomputed by our rounding rules), with
-- its links, and a hash of what was copied so a repeated or late event can tell "unchanged".
CREATE TABLE stripe_invoices (
    invoice_id         bigint PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
    account_id         text NOT NULL CHECK (length(account_id) <= 255),
    stripe_customer_id text NOT NULL CHECK (length(stripe_customer_id) <= 255),
    net                bigint NOT NULL,  -- total_excluding_tax
    tax                bigint NOT NULL,
    total              bigint NOT NULL,
    amount_paid        bigint NOT NULL CHECK (amount_paid >= 0),
    amount_remaining   bigint NOT NULL CHECK (amount_remaining >= 0),
    -- [{"rate": "19.000", "net": 10000, "tax": 1900}, …], by rate: the document's VAT breakdown.
    tax_groups         jsonb NOT NULL DEFAULT '[]',
    hosted_invoice_url text NOT NULL DEFAULT '' CHECK (length(hosted_invoice_url) <= 2000),
    invoice_pdf        text NOT NULL DEFAULT '' CHECK (length(invoice_pdf) <= 2000),
    -- Stripe tried to collect and failed (an open invoice whose payment failed shows it).
    payment_failed     boolean NOT NULL DEFAULT false,
    content_hash       text NOT NULL,
    synced_at          timestamptz NOT NULL DEFAULT now()
);

-- Stripe's own net amount of each line (quantity × unit amount as Stripe rounded it, discounts applied) and its tax.
ALTER TABLE invoice_lines ADD COLUMN stripe_net bigint, ADD COLUMN stripe_tax bigint;

-- A backfill of one workspace's Stripe invoices (invoice-portal stripe-sync, the console's Sync now): its cursor
-- after each page, so an interrupted run resumes where it stopped, and its counts.
CREATE TABLE stripe_syncs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    since         date,
    cursor        text CHECK (length(cursor) <= 255),
    created       integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    skipped       integer NOT NULL DEFAULT 0,  -- drafts: they appear once finalized
    failed        jsonb NOT NULL DEFAULT '[]',  -- [{"id": "in_…", "reason": "…"}]
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
-- One unfinished sync per workspace at a time: a second start resumes it instead.
CREATE UNIQUE INDEX stripe_syncs_running ON stripe_syncs (workspace_id) WHERE finished_at IS NULL;

-- The portal's own issued invoices keep their lines frozen; a copy of a Stripe invoice follows Stripe, which
-- freezes its finalized invoices itself (the copy is written whole when it changes there).
CREATE OR REPLACE FUNCTION refuse_lines_of_issued_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE id = target AND status <> 'draft' AND source = 'portal') THEN
        RAISE EXCEPTION 'invoice % is issued: its lines are frozen', target USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
