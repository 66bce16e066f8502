-- A workspace's own wording of customer-facing texts, per language: the text id is the catalog's (English) msgid;
-- a text that depends on a number has one wording per plural category ("one", "few", "other"…), '' otherwise.
-- Checked by the console (same placeholders, a length limit) before it is written; the limits here are the backstop.
CREATE TABLE text_overrides (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    language     text NOT NULL CHECK (length(language) BETWEEN 2 AND 16),
    text_id      text NOT NULL CHECK (length(text_id) BETWEEN 1 AND 1000),
    category     text NOT NULL DEFAULT '' CHECK (category IN ('', 'zero', 'one', 'two', 'few', 'many', 'other')),
    text         text NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    updated_by   text NOT NULL DEFAULT '' CHECK (length(updated_by) <= 320),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, language, text_id, category)
);
