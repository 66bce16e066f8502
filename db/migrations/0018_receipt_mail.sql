-- Each successful payment's receipt is e-mailed to the customer once (web/receipts/mailing.py); payments that
-- succeeded before receipts existed count as mailed, so the first deploy does not mail the whole past.
ALTER TABLE payments ADD COLUMN receipt_mailed_at timestamptz;
UPDATE payments SET receipt_mailed_at = succeeded_at WHERE status = 'succeeded';
CREATE INDEX payments_receipt_to_mail ON payments (succeeded_at) WHERE status = 'succeeded' AND receipt_mailed_at IS NULL;
