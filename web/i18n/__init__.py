"""Every customer-facing word in the reader's language: catalogs, the reader's language, refusals as message ids,
and the workspace's own wording."""
