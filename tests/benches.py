"""Running a benchmark script as `make bench` does, for the tests that keep the scripts from rotting."""

from __future__ import annotations

import os
import subprocess
import sys

from web.settings import PROJECT_ROOT

# Every script in bench/ that `make bench` runs, split in two halves of about the same time for their quick
# rounds, so the two halves (one test file each) can run on different pytest-xdist workers.
SERVER_BENCHES = ("bench.portal", "bench.sse_fanout", "bench.prerender", "bench.payments")
DATA_BENCHES = ("bench.scale", "bench.einvoice", "bench.console", "bench.history", "bench.stripe_sync")
BENCHES = SERVER_BENCHES + DATA_BENCHES


def run_bench(module: str, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def assert_quick_round(module: str) -> None:
    """A tiny `--quick` round against real servers: it ran to the end and measured something (its figures
    are not judged here: a loaded CI machine says nothing about speed)."""
    result = run_bench(module, "--quick")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " ms" in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
