-- How the console writes numbers, money and dates for this teammate (a Babel locale tag): one format on every
-- console page, whatever each invoice's own language (its document keeps that one).
ALTER TABLE staff ADD COLUMN formats text NOT NULL DEFAULT 'en' CHECK (length(formats) BETWEEN 2 AND 35);
