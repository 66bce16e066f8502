"""localstripe for tests: the same launcher `make demo` uses (bound to 127.0.0.1, no persistence)."""

from web.local_stripe import flush, localstripe, register_webhook

__all__ = ["flush", "localstripe", "register_webhook"]
