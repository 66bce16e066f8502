-- Foundation: workspaces, customers, invoices with lines, portal links, payments (room for the payments issue)
-- and the activity log. Money is BIGINT minor units next to an ISO 4217 code from the currencies table.

CREATE TABLE currencies (
    code            char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    exponent        smallint NOT NULL CHECK (exponent IN (0, 2, 3)),
    rounding_step   integer NOT NULL DEFAULT 1 CHECK (rounding_step > 0),
    -- Stripe's documented minimum charge in minor units; NULL where Stripe documents none (it converts and decides).
    minimum_charge  bigint CHECK (minimum_charge IS NULL OR minimum_charge > 0),
    -- Amounts charged must be a multiple of this (10 for three-decimal currencies, 100 for ISK).
    charge_step     integer NOT NULL DEFAULT 1 CHECK (charge_step > 0),
    maximum_charge  bigint NOT NULL DEFAULT 99999999 CHECK (maximum_charge > 0)
);

CREATE TABLE workspaces (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug                        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    legal_name                  text NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 200),
    address                     text NOT NULL DEFAULT '' CHECK (length(address) <= 1000),
    tax_id                      text NOT NULL DEFAULT '' CHECK (length(tax_id) <= 64),
    email                       text NOT NULL DEFAULT '' CHECK (length(email) <= 320),
    support_email               text NOT NULL DEFAULT '' CHECK (length(support_email) <= 320),
    default_currency            char(3) NOT NULL REFERENCES currencies (code),
    default_locale              text NOT NULL DEFAULT 'en' CHECK (length(default_locale) BETWEEN 2 AND 35),
    bank_transfer_instructions  text NOT NULL DEFAULT '' CHECK (length(bank_transfer_instructions) <= 2000),
    -- Roadmap: one Stripe account per workspace (Connect) and an embeddable portal secret.
    stripe_account_id           text UNIQUE,
    created_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id        bigint NOT NULL REFERENCES workspaces (id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email               text NOT NULL DEFAULT '' CHECK (length(email) <= 320),
    billing_address     text NOT NULL DEFAULT '' CHECK (length(billing_address) <= 1000),
    tax_id              text NOT NULL DEFAULT '' CHECK (length(tax_id) <= 64),
    locale              text NOT NULL DEFAULT 'en' CHECK (length(locale) BETWEEN 2 AND 35),
    -- Roadmap: billing history and the embeddable portal key customers by Stripe customer id too.
    stripe_customer_id  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);
CREATE INDEX customers_workspace_email ON customers (workspace_id, lower(email));
CREATE UNIQUE INDEX customers_stripe_id ON customers (workspace_id, stripe_customer_id)
    WHERE stripe_customer_id IS NOT NULL;

-- Gapless per-workspace, per-year invoice numbers: the counter row is locked by the sending transaction.
CREATE TABLE invoice_number_counters (
    workspace_id  bigint NOT NULL REFERENCES workspaces (id),
    year          integer NOT NULL,
    last_value    integer NOT NULL CHECK (last_value >= 0),
    PRIMARY KEY (workspace_id, year)
);

CREATE TABLE invoices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id        bigint NOT NULL REFERENCES workspaces (id),
    customer_id         bigint NOT NULL,
    number              text CHECK (length(number) BETWEEN 1 AND 64),
    status              text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    currency            char(3) NOT NULL REFERENCES currencies (code),
    locale              text NOT NULL DEFAULT 'en' CHECK (length(locale) BETWEEN 2 AND 35),
    issue_date          date,
    due_date            date CHECK (due_date IS NULL OR issue_date IS NULL OR due_date >= issue_date),
    notes               text NOT NULL DEFAULT '' CHECK (length(notes) <= 5000),
    payment_terms       text NOT NULL DEFAULT '' CHECK (length(payment_terms) <= 2000),
    -- Seller and buyer as they were at issue: later edits to the workspace or customer never change an issued invoice.
    seller_snapshot     jsonb,
    buyer_snapshot      jsonb,
    -- Bumped by every change that alters the rendered document (lines, status, payments): the PDF cache key.
    version             integer NOT NULL DEFAULT 1,
    issued_at           timestamptz,
    paid_at             timestamptz,
    voided_at           timestamptz,
    void_reason         text NOT NULL DEFAULT '' CHECK (length(void_reason) <= 1000),
    -- Roadmap: invoices created in Stripe Invoicing and synced through webhooks.
    source              text NOT NULL DEFAULT 'portal' CHECK (source IN ('portal', 'stripe')),
    stripe_invoice_id   text UNIQUE,
    -- Idempotency key for loaders and imports (demo data, Stripe backfill): loading twice finds the same invoice.
    import_key          text CHECK (length(import_key) <= 200),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id),
    UNIQUE (workspace_id, number),
    UNIQUE (workspace_id, import_key),
    CHECK (status = 'draft' OR (number IS NOT NULL AND issue_date IS NOT NULL AND issued_at IS NOT NULL
                                AND seller_snapshot IS NOT NULL AND buyer_snapshot IS NOT NULL)),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    CHECK ((status = 'void') = (voided_at IS NOT NULL))
);
CREATE INDEX invoices_customer ON invoices (customer_id);

CREATE TABLE invoice_lines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id  bigint NOT NULL REFERENCES invoices (id),
    position    integer NOT NULL CHECK (position >= 0),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
    quantity    numeric(14, 4) NOT NULL CHECK (quantity > 0),
    unit_price  bigint NOT NULL CHECK (unit_price BETWEEN -999999999999 AND 999999999999),
    -- Percent, e.g. 19.000 or 7.700.
    tax_rate    numeric(6, 3) NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate < 100),
    UNIQUE (invoice_id, position)
);

CREATE TABLE portal_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id  bigint NOT NULL REFERENCES invoices (id),
    -- Lookups go through the SHA-256 of the token, so comparison time says nothing about the token itself.
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- Kept so the billing team can copy the link again, as hosted invoice pages allow.
    token       text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX portal_links_invoice ON portal_links (invoice_id);

CREATE TABLE payments (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id                  bigint NOT NULL REFERENCES invoices (id),
    amount                      bigint NOT NULL CHECK (amount > 0),
    currency                    char(3) NOT NULL REFERENCES currencies (code),
    method                      text NOT NULL CHECK (method IN ('card', 'bank_transfer', 'other')),
    status                      text NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'canceled')),
    amount_refunded             bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    stripe_payment_intent_id    text UNIQUE,
    card_brand                  text NOT NULL DEFAULT '',
    card_last4                  text NOT NULL DEFAULT '' CHECK (card_last4 ~ '^([0-9]{4})?$'),
    reference                   text NOT NULL DEFAULT '' CHECK (length(reference) <= 200),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    succeeded_at                timestamptz,
    -- A refunded payment stays 'succeeded' with amount_refunded raised, so the balance is total - (amount - refunded).
    CHECK ((status = 'succeeded') = (succeeded_at IS NOT NULL))
);
CREATE INDEX payments_invoice ON payments (invoice_id);

CREATE TABLE activity (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id  bigint NOT NULL REFERENCES invoices (id),
    kind        text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_invoice ON activity (invoice_id, occurred_at DESC);

-- Rendered PDFs shared by every process, keyed by invoice version and by a fingerprint of the templates and
-- stylesheets that rendered them, so a deploy that changes the document never serves an old rendering.
CREATE TABLE pdf_cache (
    invoice_id  bigint NOT NULL REFERENCES invoices (id),
    version     integer NOT NULL,
    fingerprint text NOT NULL,
    pdf         bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, version, fingerprint)
);
