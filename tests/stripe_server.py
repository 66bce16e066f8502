"""A localstripe process for tests: bound to 127.0.0.1, no persistence, flushed per test."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

from web.settings import PROJECT_ROOT


@contextlib.contextmanager
def localstripe() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "devtools" / "localstripe_server.py"), "--port", "0"],
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


def flush(base: str) -> None:
    request = urllib.request.Request(f"{base}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=5):
        pass
