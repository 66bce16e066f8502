"""The public invoice page: who is looking, what the page shows them, and the page cache."""
