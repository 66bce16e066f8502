-- The billing-team console: staff accounts with password + TOTP, their sessions, sign-in failures (backoff and
-- lockout), per-invoice switches the console controls, the support inbox's "handled" mark, and frozen amounts.

CREATE TABLE staff (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id        bigint NOT NULL REFERENCES workspaces (id),
    email               text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND email = lower(email)),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role                text NOT NULL CHECK (role IN ('billing', 'support')),
    -- argon2id, PHC string format (argon2-cffi).
    password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    -- Set at the first sign-in, confirmed by a first valid code; until then the account must enrol.
    totp_secret         text,
    totp_confirmed_at   timestamptz,
    -- The last accepted TOTP time step: a code is never accepted twice (replay guard).
    totp_last_timecode  bigint NOT NULL DEFAULT 0,
    disabled_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- One address signs in to one workspace: the e-mail alone finds the account.
    UNIQUE (email)
);
CREATE INDEX staff_workspace ON staff (workspace_id);

-- A browser's sign-in. The cookie holds a random token; only its SHA-256 is stored. A session is 'password'
-- after the password step and 'full' once the TOTP code was accepted; only full sessions reach the console.
CREATE TABLE staff_sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    staff_id      bigint NOT NULL REFERENCES staff (id),
    stage         text NOT NULL CHECK (stage IN ('password', 'full')),
    -- Synchronizer token for every state-changing console request of this session.
    csrf_token    text NOT NULL CHECK (length(csrf_token) BETWEEN 32 AND 64),
    user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    -- Idle and absolute limits are both enforced: last_seen_at + idle, and expires_at.
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id) WHERE ended_at IS NULL;

-- Every failed password or TOTP step, by address (known or not, so answers never tell them apart) and client.
CREATE TABLE staff_sign_in_failures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    client     text NOT NULL,
    failed_at  timestamptz NOT NULL
);
CREATE INDEX staff_sign_in_failures_email ON staff_sign_in_failures (email, failed_at);
CREATE INDEX staff_sign_in_failures_client ON staff_sign_in_failures (client, failed_at);

-- Online payment can be switched off per invoice (bank transfer only). The support inbox hides a thread until
-- a customer writes after the last comment a teammate marked handled.
ALTER TABLE invoices
    ADD COLUMN payments_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN thread_handled_through bigint NOT NULL DEFAULT 0,
    -- The builder's form exactly as last typed, fields with mistakes included, so a draft never loses input;
    -- the columns and invoice_lines hold the last valid values (what preview and send use).
    ADD COLUMN draft_form jsonb;

-- After sending, amounts are frozen: corrections are a void plus a new invoice. Enforced here too, so no code
-- path (or a console request that raced the send) can change the lines of an issued invoice.
CREATE FUNCTION refuse_lines_of_issued_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE id = target AND status <> 'draft') THEN
        RAISE EXCEPTION 'invoice % is issued: its lines are frozen', target USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
CREATE TRIGGER invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_lines_of_issued_invoice();

-- Drafts and the console's lists: invoices of a workspace by status and recency.
CREATE INDEX invoices_workspace_status ON invoices (workspace_id, status, created_at DESC);
CREATE INDEX comments_invoice_role ON comments (invoice_id, author_role, id DESC);
