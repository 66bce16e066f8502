-- One render of a PDF across all processes: the process that misses the cache first claims the render; the
-- others wait for the PDF to land in pdf_cache instead of rendering it again. A claim lasts as long as a render
-- may (its time limit), so a process that died mid-render delays the next one by that at most. Unlogged: a
-- claim is worth nothing after a database restart.
CREATE UNLOGGED TABLE pdf_render_claims (
    invoice_id    bigint NOT NULL,
    version       integer NOT NULL,
    fingerprint   text NOT NULL,
    claimed_until timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, version, fingerprint)
);
