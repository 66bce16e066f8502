-- The console's lists at any size: pages by keyset (newest invoice first, customers by name) and search by
-- invoice number, customer name and amount, each an index scan. Plain PostgreSQL only (the embedded server
-- has no pg_trgm): numbers are found by their start or their end (a reversed copy in the index), names by
-- the start of any word (full-text search with the 'simple' dictionary, which neither stems nor drops words).

-- The invoice list: newest first, the id breaking ties, with or without a status filter.
DROP INDEX invoices_workspace_status;
CREATE INDEX invoices_console_newest ON invoices (workspace_id, created_at DESC, id DESC);
CREATE INDEX invoices_console_status ON invoices (workspace_id, status, created_at DESC, id DESC);

-- "INV-2026" finds numbers that start so; "0042" finds those that end so.
CREATE INDEX invoices_number_start ON invoices (workspace_id, lower(number) text_pattern_ops)
    WHERE number IS NOT NULL;
CREATE INDEX invoices_number_end ON invoices (workspace_id, reverse(lower(number)) text_pattern_ops)
    WHERE number IS NOT NULL;

-- An amount: the total fixed at issue, or Stripe's total for an invoice made in Stripe.
CREATE INDEX invoices_issued_total ON invoices (workspace_id, issued_total) WHERE issued_total IS NOT NULL;
CREATE INDEX stripe_invoices_total ON stripe_invoices (total);

-- Customers by name (the list's order and its pages), and by any word of name, e-mail or tax id. The
-- expression must stay identical to db/customers.py's SEARCH_WORDS for the planner to use the index.
CREATE INDEX customers_by_name ON customers (workspace_id, lower(name), id);
CREATE INDEX customers_search_words ON customers
    USING gin (to_tsvector('simple', name || ' ' || email || ' ' || tax_id || ' ' || translate(email, '@.', '  ')));
