-- Comment threads on invoices: who may write (per invoice, defaulted from the workspace when the invoice is
-- created), e-mailed one-time codes, writer sessions, optional TOTP enrolments, and the mail outbox.

ALTER TABLE workspaces
    ADD COLUMN default_comment_mode text NOT NULL DEFAULT 'customer'
        CHECK (default_comment_mode IN ('customer', 'otp', 'closed'));

-- customer: only the invoice's customer (code sent to the address on file); otp: anyone who proves an address;
-- closed: read-only. comments_enabled=false hides the thread altogether (console switch).
ALTER TABLE invoices
    ADD COLUMN comment_mode text NOT NULL DEFAULT 'customer' CHECK (comment_mode IN ('customer', 'otp', 'closed')),
    ADD COLUMN comments_require_totp boolean NOT NULL DEFAULT false,
    ADD COLUMN comments_enabled boolean NOT NULL DEFAULT true;

CREATE TABLE comments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id   bigint NOT NULL REFERENCES invoices (id),
    author_role  text NOT NULL CHECK (author_role IN ('customer', 'guest', 'staff')),
    author_name  text NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
    -- The verified address of a customer or guest writer: for the billing team's eyes only, never rendered publicly.
    author_email text NOT NULL DEFAULT '' CHECK (length(author_email) <= 320),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    -- A random key from the form: a double submit or a retry finds the comment already written.
    client_key   text NOT NULL CHECK (client_key ~ '^[A-Za-z0-9_-]{16,64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (invoice_id, client_key)
);
CREATE INDEX comments_invoice ON comments (invoice_id, id);

-- Comments are announced on the invoice channel as '<invoice id>:comment:<comment id>', so the order of
-- comments and invoice changes is the commit order, and one LISTEN connection serves both.
CREATE FUNCTION notify_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('invoice_changes', NEW.invoice_id::text || ':comment:' || NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER comments_notify AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION notify_comment();

-- One live code per (invoice, address): asking again replaces it. Only a salted SHA-256 of the code is kept.
-- Addresses that may not write get a row too (with a hash nothing matches), so answers never tell them apart.
CREATE TABLE comment_codes (
    invoice_id   bigint NOT NULL REFERENCES invoices (id),
    email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    author_name  text NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
    salt         bytea NOT NULL,
    code_hash    bytea NOT NULL,
    wrong_tries  smallint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    PRIMARY KEY (invoice_id, email)
);

-- Every code request, for the rate limits (per invoice, per address, per client). Rows older than a day go.
CREATE TABLE comment_code_requests (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id    bigint NOT NULL REFERENCES invoices (id),
    email         text NOT NULL,
    client        text NOT NULL,
    requested_at  timestamptz NOT NULL
);
CREATE INDEX comment_code_requests_invoice ON comment_code_requests (invoice_id, requested_at);
CREATE INDEX comment_code_requests_email ON comment_code_requests (email, requested_at);
CREATE INDEX comment_code_requests_client ON comment_code_requests (client, requested_at);

-- A verified writer on one invoice. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE comment_sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invoice_id      bigint NOT NULL REFERENCES invoices (id),
    email           text NOT NULL,
    author_name     text NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
    author_role     text NOT NULL CHECK (author_role IN ('customer', 'guest')),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    totp_passed_at  timestamptz,
    totp_failures   smallint NOT NULL DEFAULT 0,
    ended_at        timestamptz
);
CREATE INDEX comment_sessions_invoice ON comment_sessions (invoice_id);

-- Authenticator-app enrolment of a writer's address, per workspace (one enrolment serves all its invoices).
-- last_timecode is the replay guard: a time step is accepted once.
CREATE TABLE totp_enrolments (
    workspace_id   bigint NOT NULL REFERENCES workspaces (id),
    email          text NOT NULL,
    secret         text NOT NULL,
    confirmed_at   timestamptz,
    last_timecode  bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, email)
);

-- Every e-mail we send is written here in the transaction that causes it, then delivered after commit (SMTP)
-- or left here for the console and the log when no SMTP server is configured. Codes are redacted once sent.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces (id),
    invoice_id    bigint REFERENCES invoices (id),
    kind          text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    recipient     text NOT NULL CHECK (length(recipient) BETWEEN 3 AND 320),
    subject       text NOT NULL,
    body          text NOT NULL,
    sensitive     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    last_error    text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
