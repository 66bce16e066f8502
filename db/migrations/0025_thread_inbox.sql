-- The support inbox at any size: the threads waiting for the team, kept as they change, instead of looking at
-- every invoice's thread on each visit (which grew with the workspace: 200,000 invoices, 200,000 lookups).
-- A row per waiting thread: its newest customer (or guest) comment is newer than both the team's newest reply
-- and the comment a teammate marked it handled through (comment ids grow in commit order per invoice).
CREATE TABLE thread_inbox (
    invoice_id   bigint PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
    workspace_id bigint NOT NULL,
    comment_id   bigint NOT NULL  -- the newest waiting comment
);
CREATE INDEX thread_inbox_newest ON thread_inbox (workspace_id, comment_id DESC);

-- A customer's comment opens the thread (or moves it to its newest comment); the team's reply closes it.
CREATE FUNCTION thread_inbox_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.author_role = 'staff' THEN
        DELETE FROM thread_inbox WHERE invoice_id = NEW.invoice_id;
    ELSE
        INSERT INTO thread_inbox (invoice_id, workspace_id, comment_id)
        SELECT id, workspace_id, NEW.id FROM invoices WHERE id = NEW.invoice_id
        ON CONFLICT (invoice_id) DO UPDATE SET comment_id = greatest(thread_inbox.comment_id, excluded.comment_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER comments_thread_inbox AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION thread_inbox_comment();

-- "Handled" closes the thread up to the comment it names.
CREATE FUNCTION thread_inbox_handled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM thread_inbox WHERE invoice_id = NEW.id AND comment_id <= NEW.thread_handled_through;
    RETURN NULL;
END;
$$;
CREATE TRIGGER invoices_thread_inbox AFTER UPDATE OF thread_handled_through ON invoices
    FOR EACH ROW EXECUTE FUNCTION thread_inbox_handled();

-- The waiting threads of a workspace worked out from its comments: fills the table here, and again after a bulk
-- load that bypassed the triggers (bench/scale_data.py).
CREATE FUNCTION refresh_thread_inbox(p_workspace_id bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM thread_inbox WHERE workspace_id = p_workspace_id;
    INSERT INTO thread_inbox (invoice_id, workspace_id, comment_id)
    SELECT i.id, i.workspace_id, w.id
    FROM invoices i
    CROSS JOIN LATERAL (
        SELECT id FROM comments
        WHERE invoice_id = i.id AND author_role IN ('customer', 'guest') ORDER BY id DESC LIMIT 1
    ) w
    CROSS JOIN LATERAL (
        SELECT coalesce(max(id), 0) AS id FROM comments WHERE invoice_id = i.id AND author_role = 'staff'
    ) s
    WHERE i.workspace_id = p_workspace_id AND w.id > greatest(i.thread_handled_through, s.id);
$$;

SELECT refresh_thread_inbox(id) FROM workspaces;
