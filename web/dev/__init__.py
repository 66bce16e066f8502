"""Development tools: demo data and the local Stripe double's launcher. Never imported by production paths."""
