"""The billing-team console: staff sign-in, guards, and the logic behind its pages (views in web/views/console)."""
