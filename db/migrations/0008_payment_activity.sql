-- Every payment event lands in the invoice's activity log: a card attempt started, a payment succeeded (by card,
-- or recorded by the billing team), failed, was cancelled or refunded. A trigger, like the version bump, so the
-- webhook, the confirmation step, the console and the demo cannot forget it. Only a real change is logged: an
-- UPDATE that leaves the status as it was (a duplicate or older webhook, card details, a hold) adds nothing, and a
-- refund is logged only when the refunded total grows (Stripe reports it cumulatively, possibly more than once).
CREATE FUNCTION log_payment_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    base jsonb := jsonb_build_object(
        'payment_id', NEW.id, 'amount', NEW.amount, 'currency', NEW.currency, 'method', NEW.method
    );
    status_changed boolean;
    refunded_before bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        status_changed := true;
        refunded_before := 0;
        IF NEW.method = 'card' THEN
            INSERT INTO activity (invoice_id, kind, detail) VALUES (NEW.invoice_id, 'payment_attempted', base);
        END IF;
    ELSE
        status_changed := OLD.status IS DISTINCT FROM NEW.status;
        refunded_before := OLD.amount_refunded;
    END IF;

    IF status_changed AND NEW.status = 'succeeded' THEN
        INSERT INTO activity (invoice_id, kind, detail) VALUES (
            NEW.invoice_id, 'payment_succeeded',
            base || jsonb_strip_nulls(jsonb_build_object(
                'reference', NULLIF(NEW.reference, ''),
                'card_brand', NULLIF(NEW.card_brand, ''),
                'card_last4', NULLIF(NEW.card_last4, ''),
                -- Who recorded a manual payment: the console sets app.actor for its transaction (SET LOCAL).
                'by', NULLIF(current_setting('app.actor', true), '')
            ))
        );
    ELSIF status_changed AND NEW.status = 'failed' THEN
        INSERT INTO activity (invoice_id, kind, detail)
        VALUES (NEW.invoice_id, 'payment_failed', base || jsonb_build_object('failure_message', NEW.failure_message));
    ELSIF status_changed AND NEW.status = 'canceled' THEN
        INSERT INTO activity (invoice_id, kind, detail) VALUES (NEW.invoice_id, 'payment_canceled', base);
    END IF;

    IF NEW.amount_refunded > refunded_before THEN
        INSERT INTO activity (invoice_id, kind, detail) VALUES (
            NEW.invoice_id, 'payment_refunded',
            jsonb_build_object(
                'payment_id', NEW.id, 'amount', NEW.amount_refunded - refunded_before,
                'total_refunded', NEW.amount_refunded, 'currency', NEW.currency
            )
        );
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER payments_log_activity AFTER INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION log_payment_activity();
