"""Exact maj@k: the chance that a majority vote over k of a problem's n samples is right.

Definition. The samples fall into answer classes by the grader's own equivalence:
every sample graded correct is in the correct class (the grader found each equal to
the gold, so they are equal to one another, however they are spelled); each distinct
canonical answer among the samples graded wrong is a class of its own, so a wrong
sample never counts as right because its canonical string matches a correct one's
(MATH's `5\\text{ or }7` normalises to `5`); a wrong sample with no answer (None or
an empty canonical string) abstains. A size-k subset votes for the class with the
most members in it; a tie between t classes counts 1/t (a uniformly random tie
break); a subset in which everyone abstains is wrong. maj@k is the mean of that over
all C(n, k) subsets, computed in closed form, not sampled.

Closed form. With c correct samples, the correct class wins with exactly x of them in
the subset when no wrong class has more than x there; wrong classes with fewer than x
samples in all cannot reach x, so they pool with the abstainers. A polynomial product
over the other classes counts the ways (by subset size s and number of classes tied at
x), and the pooled samples fill the rest of the subset:
    maj@k = sum_x C(c, x) sum_{s, t} N_x(s, t) / (t + 1) C(pool_x, k - x - s) / C(n, k).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int) -> float:
    """maj@k of one problem (see the module docstring for the exact definition)."""
    return maj_at_ks(answers, correct, [k])[0]


def maj_at_ks(answers: Sequence[str | None], correct: Sequence[bool], ks: Sequence[int]) -> list[float]:
    """maj@k for every k in `ks`, sharing the work that does not depend on k."""
    n = len(answers)
    if len(correct) != n:
        raise ValueError("answers and correct must have one entry per sample")
    for k in ks:
        if not 1 <= k <= n:
            raise ValueError(f"maj@{k} needs at least k samples per problem, got n={n}")
    n_correct = sum(bool(ok) for ok in correct)
    wrong = Counter(a for a, ok in zip(answers, correct) if not ok and a)
    abstain = n - n_correct - sum(wrong.values())
    binom = _pascal(n)
    ways = np.zeros(n + 1)  # ways[k]: size-k subsets the correct class wins, tie-weighted
    for x in range(1, n_correct + 1):
        rivals = [w for w in wrong.values() if w >= x]
        pool = abstain + sum(w for w in wrong.values() if w < x)
        by_size = _rival_ways(rivals, x, binom) * binom[n_correct, x]
        filled = np.convolve(by_size, binom[pool, : pool + 1])[: n + 1 - x]
        ways[x : x + filled.size] += filled
    return [float(ways[k] / binom[n, k]) for k in ks]


def _rival_ways(rivals: list[int], x: int, binom: np.ndarray) -> np.ndarray:
    """By subset size s: ways to draw s samples from `rivals` with none above x, each
    weighted 1/(1 + number of rivals at exactly x)."""
    size = sum(min(w, x) for w in rivals) + 1
    by_ties = np.zeros((size, len(rivals) + 1))  # [s, t]: t rivals tied at x
    by_ties[0, 0] = 1.0
    for w in rivals:
        below = np.zeros_like(by_ties)
        for y in range(min(w + 1, x)):  # this rival draws y < x
            below[y:] += binom[w, y] * by_ties[: size - y]
        below[x:, 1:] += binom[w, x] * by_ties[: size - x, :-1]  # this rival ties
        by_ties = below
    return by_ties @ (1.0 / np.arange(1, len(rivals) + 2))


def _pascal(n: int) -> np.ndarray:
    """binom[a, b] = C(a, b) as floats (0 for b > a), to float64's relative precision."""
    binom = np.zeros((n + 1, n + 1))
    binom[:, 0] = 1.0
    for a in range(1, n + 1):
        binom[a, 1:] = binom[a - 1, 1:] + binom[a - 1, :-1]
    return binom
