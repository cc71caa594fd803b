"""The tolerance rules of bench.regress on hand-worked numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.regress.compare import ATOL, exact_rule_applies, tolerance, verdict
from bench.regress.runs import Run
from bench.regress.suite import CELLS


def test_statistical_tolerance_is_z_times_the_combined_stderr() -> None:
    # 3 * sqrt(0.03^2 + 0.04^2) = 3 * 0.05 = 0.15
    assert tolerance(0.03, 0.04, z=3, exact=False) == pytest.approx(0.15)
    # 2 * sqrt(0.006^2 + 0.008^2) = 2 * 0.01 = 0.02
    assert tolerance(0.006, 0.008, z=2, exact=False) == pytest.approx(0.02)


def test_exact_tolerance_ignores_the_stderr() -> None:
    assert tolerance(0.03, 0.04, z=3, exact=True) == ATOL


@pytest.mark.parametrize(
    ("delta", "higher_is_better", "expected"),
    [
        (-0.10, True, "ok"),  # 0.10 worse, inside 0.15
        (-0.20, True, "REGRESSED"),  # 0.20 worse, beyond 0.15
        (+0.20, True, "improved"),  # better never fails
        (+0.20, False, "REGRESSED"),  # for a lower-is-better metric, up is worse
        (-0.20, False, "improved"),
        (-0.15, True, "ok"),  # exactly at the tolerance is not beyond it
        (math.nan, True, "INCOMPARABLE"),  # a missing metric cannot pass
    ],
)
def test_only_a_move_in_the_bad_direction_beyond_the_tolerance_fails(delta: float, higher_is_better: bool, expected: str) -> None:
    assert verdict(delta, higher_is_better, tol=0.15) == expected


def test_exact_rule_needs_a_deterministic_baseline_and_the_same_fingerprint() -> None:
    report = {"versions": {"torch": "2.13.0+cpu"}, "host": {"cpu": "X"}, "device": "cpu (x86_64, 1 threads)"}
    run = Run(path=Path("."), cell=CELLS[0], report=report)
    assert exact_rule_applies({"deterministic": True, "fingerprint": run.fingerprint}, run)
    assert not exact_rule_applies({"deterministic": False, "fingerprint": run.fingerprint}, run)
    other_threads = {**run.fingerprint, "device": "cpu (x86_64, 2 threads)"}
    assert not exact_rule_applies({"deterministic": True, "fingerprint": other_threads}, run)
