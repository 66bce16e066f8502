"""The benchmarks are run by hand (`make bench`), not in CI: at least keep them importable and their
arguments parseable, so a refactor cannot silently break them (one did once)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from web.settings import PROJECT_ROOT

BENCHES = (
    "bench.portal", "bench.payments", "bench.sse_fanout", "bench.console", "bench.stripe_sync", "bench.history",
    "bench.einvoice", "bench.prerender",
)  # fmt: skip


@pytest.mark.parametrize("module", BENCHES)
def test_bench_script_starts(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
