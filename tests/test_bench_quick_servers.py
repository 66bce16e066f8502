"""Quick rounds of the benchmarks that load servers (see tests/benches.py): a file of their own, so pytest-xdist
can run them beside the other half."""

from __future__ import annotations

import pytest

from tests.benches import SERVER_BENCHES, assert_quick_round


@pytest.mark.parametrize("module", SERVER_BENCHES)
def test_bench_script_runs_a_quick_round(module: str) -> None:
    assert_quick_round(module)
