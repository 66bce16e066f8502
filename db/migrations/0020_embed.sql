-- The billing history embedded in a business's own app (web/embed/): the workspace's embed secret (sealed; the
-- previous one still accepted for a grace period after a rotation), the origins allowed to frame it, and the
-- short-lived sessions a verified HMAC is exchanged for (the frame keeps the token in memory: no cookie).
CREATE TABLE embed_settings (
    workspace_id    bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    secret          text CHECK (secret LIKE 'sealed:%'),
    secret_last4    text NOT NULL DEFAULT '' CHECK (length(secret_last4) <= 4),
    previous_secret text CHECK (previous_secret LIKE 'sealed:%'),
    previous_until  timestamptz,
    allowed_origins text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_origins) <= 10),
    rotated_at      timestamptz,
    rotated_by      text NOT NULL DEFAULT '' CHECK (length(rotated_by) <= 320)
);

CREATE TABLE embed_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 320),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX embed_sessions_expiry ON embed_sessions (expires_at);
