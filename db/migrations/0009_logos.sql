-- Workspace logos, content-addressed: a logo's key is the SHA-256 of its bytes, so the bytes behind a key never
-- change. The URL can be cached forever, and an issued invoice's seller snapshot can name the logo it was issued
-- with (snapshots are jsonb, so no foreign key can protect them: logos are never deleted, like invoices).

CREATE TABLE logos (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- Only raster formats browsers and WeasyPrint both draw; never SVG (it can carry scripts).
    media_type  text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/webp')),
    width       integer NOT NULL CHECK (width BETWEEN 16 AND 2000),
    height      integer NOT NULL CHECK (height BETWEEN 16 AND 2000),
    data        bytea NOT NULL CHECK (octet_length(data) BETWEEN 1 AND 524288),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- The key is the content: no write path can store bytes under another logo's name.
    CHECK (sha256 = encode(sha256(data), 'hex'))
);

-- The logo new invoices are issued with; NULL for none. Issuing copies it into the seller snapshot.
ALTER TABLE workspaces ADD COLUMN logo_sha text REFERENCES logos (sha256);
