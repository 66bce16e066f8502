-- Payments made in Stripe itself on an invoice made in Stripe (Stripe's InvoicePayments: its hosted page, an
-- automatic charge, a payment reported to Stripe), copied with the invoice so each has its receipt like any other.
-- The portal's own card payments on such an invoice are not copied again: they are already rows, by their intent.
ALTER TABLE payments ADD COLUMN stripe_invoice_payment_id text UNIQUE
    CHECK (length(stripe_invoice_payment_id) <= 255);
