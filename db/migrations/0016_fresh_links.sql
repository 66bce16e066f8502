-- "E-mail me a fresh link" on the Invoice Not Found page: every request is counted (rate limits per link, per
-- address, per client), whether or not a link was sent, and the reader's answer is the same either way.
CREATE TABLE fresh_link_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL: the token matched no link (still counted, per address and client).
    link_id      bigint REFERENCES portal_links (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 320),
    client       text NOT NULL CHECK (length(client) <= 100),
    -- Whether a new link was mailed (the address was the customer's, and the link had only expired).
    granted      boolean NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fresh_link_requests_link ON fresh_link_requests (link_id, requested_at);
CREATE INDEX fresh_link_requests_email ON fresh_link_requests (email, requested_at);
CREATE INDEX fresh_link_requests_client ON fresh_link_requests (client, requested_at);
