"""The benchmarks are run by hand (`make bench`), not timed in CI: but each must at least start and parse its
arguments, and run a tiny `--quick` round (here for the data benchmarks; the server ones in
test_bench_quick_servers.py), so a refactor cannot silently break one (one did twice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import BENCHES, DATA_BENCHES, assert_quick_round, run_bench
from web.settings import PROJECT_ROOT


def test_every_bench_script_is_run_by_make_bench_and_here() -> None:
    scripts = {f"bench.{path.stem}" for path in (PROJECT_ROOT / "bench").glob("*.py")}
    helpers = {"bench.bare_app", "bench.scale_data", "bench.scale_plans", "bench.__init__"}
    assert scripts - helpers == set(BENCHES)
    makefile = Path(PROJECT_ROOT / "Makefile").read_text()
    assert all(module in makefile or module.replace(".", "/") + ".py" in makefile for module in BENCHES)


@pytest.mark.parametrize("module", BENCHES)
def test_bench_script_starts(module: str) -> None:
    result = run_bench(module, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "--quick" in result.stdout


@pytest.mark.parametrize("module", DATA_BENCHES)
def test_bench_script_runs_a_quick_round(module: str) -> None:
    assert_quick_round(module)
