-- One render of a PDF across all processes: the process that misses the cache first claims the render; the
-- others wait for the PDF to land in pdf_cache instead of rendering it again. A claim lasts as long as a render
-- may (its time limit, twice), so a process that died mid-render delays the next one by that at most. A render
-- that failed keeps its claim for a few seconds marked `failed`: the waiting requests give up with a message
-- instead of each trying the same failing render in turn. Unlogged: a claim is worth nothing after a restart.
CREATE UNLOGGED TABLE pdf_render_claims (
    invoice_id    bigint NOT NULL,
    version       integer NOT NULL,
    fingerprint   text NOT NULL,
    claimed_until timestamptz NOT NULL,  -- also names the claim: only its holder ends it
    failed        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (invoice_id, version, fingerprint)
);
