"""Stripe: the gateway (the only code that imports `stripe`) and the webhook event dispatcher."""
