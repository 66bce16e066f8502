-- E-invoice files (UBL, CII, XRechnung) built when the invoice is sent or changed, beside its PDF, and shared by
-- every process: a customer's first download reads one row instead of waiting for the XML to be built. Keyed like
-- pdf_cache: by invoice version, and by the fingerprint of the code that writes them (web/pdf.py), so a deploy
-- that changes that code never serves an old file.
CREATE TABLE einvoice_files (
    invoice_id  bigint NOT NULL REFERENCES invoices (id),
    version     integer NOT NULL,
    kind        text NOT NULL,
    fingerprint text NOT NULL,
    xml         bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, version, kind, fingerprint)
);
