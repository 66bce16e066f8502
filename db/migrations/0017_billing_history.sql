-- A customer's billing history (/billing/{workspace}): a session proven by an e-mailed code, per workspace and
-- address; it lists the invoices of every customer of that workspace billed at that address.

-- One live code per workspace and address (a new request replaces it: fresh tries, unused).
CREATE TABLE history_codes (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 320),
    salt         bytea NOT NULL,
    code_hash    bytea NOT NULL,
    wrong_tries  integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    PRIMARY KEY (workspace_id, email)
);

-- Every code request, granted or not (rate limits per workspace, address and client; pruned after a day).
CREATE TABLE history_code_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 320),
    client       text NOT NULL CHECK (length(client) <= 100),
    requested_at timestamptz NOT NULL
);
CREATE INDEX history_code_requests_workspace ON history_code_requests (workspace_id, requested_at);
CREATE INDEX history_code_requests_email ON history_code_requests (email, requested_at);
CREATE INDEX history_code_requests_client ON history_code_requests (client, requested_at);

-- The cookie holds a random token; only its SHA-256 is stored. Ended by Sign out (or from the console).
CREATE TABLE customer_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 320),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);

-- The history's lookups: a workspace's customers by address (customers_workspace_email, from the start), and
-- their issued invoices newest first.
CREATE INDEX invoices_history ON invoices (customer_id, issue_date DESC, id DESC) WHERE status <> 'draft';
