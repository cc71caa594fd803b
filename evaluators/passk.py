"""Sample-based metrics over problems: unbiased pass@k, exact maj@k, mean@n, with SEs.

The problem is the statistical unit: every metric is a mean of per-problem scores
and its standard error is sd(per-problem scores, ddof=1) / sqrt(P).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluators.majority import maj_at_ks


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k = 1 - C(n-c, k) / C(n, k), in the stable product form.

    `n < k` is an error (human-eval silently returns 1.0 there).
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs at least k samples per problem, got n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@dataclass(frozen=True)
class ProblemResult:
    """The n samples of one problem, as the metrics need them."""

    id: str
    correct: list[bool]
    answers: list[str | None]


def mean_and_stderr(per_problem: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(per_problem, dtype=float)
    if values.size == 0:
        raise ValueError("no problems to average")
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")
    return float(values.mean()), se


def default_ks(n: int) -> list[int]:
    """k = 1, 2, 4, ... up to n (n itself included)."""
    ks = [2**i for i in range(int(math.log2(n)) + 1)]
    return ks if ks[-1] == n else ks + [n]


def summarize(problems: Sequence[ProblemResult], ks: Sequence[int]) -> dict[str, float]:
    """`{"pass@k": v, "pass@k_stderr": se, "maj@k": ..., "mean@n": ...}` over problems."""
    n_values = {len(p.correct) for p in problems}
    if len(n_values) != 1:
        raise ValueError(f"every problem needs the same number of samples, got {sorted(n_values)}")
    (n,) = n_values
    metrics: dict[str, float] = {}

    def put(name: str, per_problem: list[float]) -> None:
        metrics[name], metrics[f"{name}_stderr"] = mean_and_stderr(per_problem)

    put(f"mean@{n}", [float(np.mean(p.correct)) for p in problems])
    for k in ks:
        put(f"pass@{k}", [pass_at_k(n, sum(p.correct), k) for p in problems])
    per_problem_maj = [maj_at_ks(p.answers, p.correct, ks) for p in problems]
    for i, k in enumerate(ks):
        put(f"maj@{k}", [maj[i] for maj in per_problem_maj])
    return metrics
