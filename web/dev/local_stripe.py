"""The local Stripe test double (localstripe) for `make demo` and the tests: started as a separate process from
devtools/localstripe_server.py (localstripe is GPL and never imported by the app), bound to 127.0.0.1."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

import httpx

from web.payments.ledger import HANDLED_TYPES
from web.settings import PROJECT_ROOT

# Any key works with localstripe; these make it obvious in logs that no real Stripe account is involved.
SECRET_KEY = "sk_test_localstripe"  # noqa: S105 (not a secret: the test double accepts any key)
PUBLISHABLE_KEY = "pk_test_localstripe"


@contextlib.contextmanager
def localstripe() -> Iterator[str]:
    """Run localstripe on a free port for the duration of the block; yield its base URL."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and script, no user input)
        [sys.executable, str(PROJECT_ROOT / "devtools" / "localstripe_server.py"), "--port", "0"],
        stdin=subprocess.PIPE,  # closed when we exit, however we exit: the server then stops too
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("localstripe listening on "):
            raise RuntimeError(f"localstripe did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def register_webhook(base: str, url: str, secret: str, name: str = "portal", events: list[str] | None = None) -> None:
    """Have localstripe sign and send the events we handle to `url` (it delivers about a second later)."""
    body = {"url": url, "secret": secret, "events": sorted(HANDLED_TYPES) if events is None else events}
    httpx.post(f"{base}/_config/webhooks/{name}", json=body, timeout=5).raise_for_status()


def flush(base: str) -> None:
    """Forget every object (between tests)."""
    httpx.delete(f"{base}/_config/data", timeout=5).raise_for_status()
