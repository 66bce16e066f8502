"""A customer's billing history: every invoice of theirs in one workspace, reached with an e-mailed code."""
