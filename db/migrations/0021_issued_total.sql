-- An issued invoice's total, fixed when it is issued (its lines are frozen from then on), so lists and sums over
-- thousands of invoices (the billing history's "due now") read one column instead of every line. NULL on
-- invoices issued before this column existed: readers compute those from their lines, as before.
ALTER TABLE invoices ADD COLUMN issued_total bigint;
