-- A card attempt being confirmed holds its amount against the balance until Stripe has answered (or the hold
-- lapses), so a second tab cannot confirm more than is still due. Only the confirming request sets it.
ALTER TABLE payments
    ADD COLUMN attempt_held_until timestamptz;

-- The invoice's version (the key of every cached page and PDF, which show amount paid and due) moves whenever
-- the ledger does: a payment succeeding, its amount changing while succeeded, or a refund. A trigger, like the
-- notifications, so the webhook, the console and the demo cannot forget it.
CREATE FUNCTION bump_invoice_version_on_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.status = 'succeeded')
       OR (TG_OP = 'UPDATE' AND (
            (OLD.status = 'succeeded') <> (NEW.status = 'succeeded')
            OR OLD.amount_refunded <> NEW.amount_refunded
            OR (NEW.status = 'succeeded' AND OLD.amount <> NEW.amount))) THEN
        UPDATE invoices SET version = version + 1, updated_at = now() WHERE id = NEW.invoice_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER payments_bump_invoice_version AFTER INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION bump_invoice_version_on_ledger_change();
