"""The tolerance rules: when a metric has regressed against its baseline.

Two rules, and exactly one applies to each metric:
- exact: the baseline was verified bit-deterministic (the suite ran twice with
  identical results) and the new run has the same fingerprint (numeric package
  versions, host CPU and SIMD level, thread count). The same code must then give
  the same numbers, so a move in the bad direction by more than ATOL fails, even
  one well inside the statistical band: the code changed what it computes. If
  that was intended, `--update` records the new numbers.
- statistical, everywhere else: a move in the bad direction fails when it exceeds
  z * sqrt(se_base^2 + se_new^2) (z = 3 by default), the usual test for a change
  of a mean with independent standard errors. Base and new are evaluated on the
  same problems with the same seeds, so they are positively correlated and this
  band is conservative.
A move in the good direction beyond the tolerance is reported as "improved" and
never fails. A run whose evaluation differs in kind (task version, n, k, problem
count, sampling) cannot be compared and fails until the baselines are updated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.regress.runs import Run

ATOL = 1e-6  # exact rule; identical runs give identical floats, this margin is only for safety
COMPARABLE = ("n", "k", "n-problems", "task", "sampling")  # must match for numbers to be comparable
FAILING = ("REGRESSED", "INCOMPARABLE", "MISSING")


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    metric: str
    baseline: str
    new: str
    delta: str
    tolerance: str
    verdict: str  # ok | improved | REGRESSED | INCOMPARABLE | MISSING
    note: str = ""  # why, for a failure that numbers alone do not explain

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


def exact_rule_applies(baseline: dict[str, Any], run: Run) -> bool:
    return bool(baseline.get("deterministic")) and baseline.get("fingerprint") == run.fingerprint


def tolerance(base_se: float, new_se: float, z: float, exact: bool) -> float:
    return ATOL if exact else z * math.hypot(base_se, new_se)


def verdict(delta: float, higher_is_better: bool, tol: float) -> str:
    """`delta` = new - baseline; only a move in the bad direction beyond `tol` fails."""
    worse = -delta if higher_is_better else delta
    if not math.isfinite(worse) or not math.isfinite(tol):
        return "INCOMPARABLE"
    if worse > tol:
        return "REGRESSED"
    return "improved" if -worse > tol else "ok"


def mismatch(baseline: dict[str, Any], run: Run) -> str | None:
    """Why the run's evaluation cannot be compared with the baseline's, or None."""
    differ = [key for key in COMPARABLE if _comparable(baseline.get(key), key) != _comparable(run.report.get(key), key)]
    return ", ".join(f"{k}: {baseline.get(k)} -> {run.report.get(k)}" for k in differ) or None


def _comparable(value: Any, key: str) -> Any:
    """The task's `skipped` rows are a record, not part of what defines the task."""
    return {k: v for k, v in value.items() if k != "skipped"} if key == "task" and isinstance(value, dict) else value


def compare_run(baseline: dict[str, Any], run: Run, z: float) -> list[Row]:
    """One row per tracked metric of `baseline` against `run`."""
    cell = baseline["cell"]
    why = mismatch(baseline, run)
    if why:
        return [Row(cell, "", "", "", "", "INCOMPARABLE", f"{why}; update the baselines if intended")]
    exact = exact_rule_applies(baseline, run)
    rows = []
    for name, ref in baseline["metrics"].items():
        new, new_se = run.metrics.get(name, math.nan), run.metrics.get(f"{name}_stderr", math.nan)
        tol = tolerance(ref["stderr"], new_se, z, exact)
        delta = new - ref["value"]
        rows.append(
            Row(
                metric=f"{cell}/{name}",
                baseline=_with_se(ref["value"], ref["stderr"]),
                new=_with_se(new, new_se),
                delta=_signed(delta),
                tolerance=f"{tol:.0e} exact" if exact else f"{tol:.4f} z={z:g}",
                verdict=verdict(delta, ref["higher_is_better"], tol),
            )
        )
    return rows


def missing(cell_id: str, why: str) -> Row:
    return Row(cell_id, "", "", "", "", "MISSING", why)


def _with_se(value: float, se: float) -> str:
    return f"{value:.4f} ± {se:.4f}"


def _signed(delta: float) -> str:
    return f"{delta:+.4f}" if delta == 0 or abs(delta) >= 1e-4 else f"{delta:+.1e}"
