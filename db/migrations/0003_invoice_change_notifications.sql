-- Every change that can alter what a portal link shows is announced on the 'invoice_changes' channel with the
-- invoice id as payload. Triggers, not application code, so no write path can forget. Delivered at commit.
CREATE FUNCTION notify_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_data record;
BEGIN
    row_data := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    IF TG_TABLE_NAME = 'invoices' THEN
        PERFORM pg_notify('invoice_changes', row_data.id::text);
    ELSE
        PERFORM pg_notify('invoice_changes', row_data.invoice_id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER invoices_notify AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION notify_invoice_change();
CREATE TRIGGER invoice_lines_notify AFTER INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION notify_invoice_change();
CREATE TRIGGER portal_links_notify AFTER INSERT OR UPDATE OR DELETE ON portal_links
    FOR EACH ROW EXECUTE FUNCTION notify_invoice_change();
CREATE TRIGGER payments_notify AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION notify_invoice_change();
