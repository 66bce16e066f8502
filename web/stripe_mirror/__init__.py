"""Portal → Stripe: a sent invoice also issued in the workspace's Stripe account, and kept in step there."""
