"""The 95%-interval rules that decide each claim's comparisons (bench/report/decide.py), on hand-worked numbers.
Z = 1.959964; every SE below is hypot of the two sides' SEs."""

from __future__ import annotations

import math

import pytest

from bench.report.claims import log_wall
from bench.report.decide import FAILS, HOLDS, MISSING, NEVER, Z, Stat, all_of, beats, not_worse


def stat(mean: float, sd: float = 0.0, problem_se: float = 0.01, n: int = 3, enough: bool = True, name: str = "x") -> Stat:
    """A cell of `n` seeds whose values spread by `sd`, each run with SE `problem_se` over problems."""
    seed_var, problem_var = sd**2, problem_se**2
    return Stat(mean, math.sqrt(seed_var / n + problem_var), name, n, enough, seed_var, problem_var)


def test_z_is_the_two_sided_95_percent_quantile():
    assert Z == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        (0.50, 0.40, HOLDS),  # +0.10 in [+0.072, +0.128]: above 0, reaching +0.02
        (0.40, 0.50, FAILS),  # -0.10 in [-0.128, -0.072]: below +0.02
        (0.41, 0.40, MISSING),  # +0.01 in [-0.018, +0.038]: spans 0 and +0.02
        (0.43, 0.40, HOLDS),  # +0.03 in [+0.002, +0.058]
    ],
)
def test_beats_is_decided_by_where_the_interval_lies(a, b, verdict):
    assert beats(stat(a), stat(b), 0.02, "a vs b").verdict == verdict


def test_a_positive_gap_smaller_than_claimed_does_not_hold():
    # +0.01 with SEs 0.001: [+0.0072, +0.0128], credibly positive yet credibly below the claimed +0.02
    gap = beats(stat(0.41, problem_se=0.001), stat(0.40, problem_se=0.001), 0.02, "a vs b")
    assert gap.verdict == FAILS
    assert gap.text == "a vs b: 0.410±0.001 vs 0.400±0.001, gap +0.010 [+0.007, +0.013], claimed >= +0.020 (below the claimed effect)"


@pytest.mark.parametrize(
    ("a", "se", "verdict"),
    [
        (0.39, 0.005, MISSING),  # -0.01 in [-0.024, +0.004]: spans the -0.02 margin
        (0.39, 0.002, HOLDS),  # -0.01 in [-0.0155, -0.0045]: worse, but by less than the margin
        (0.35, 0.005, FAILS),  # -0.05 in [-0.064, -0.036]: worse beyond the margin
        (0.45, 0.005, HOLDS),  # better
    ],
)
def test_not_worse_is_decided_against_the_margin(a, se, verdict):
    assert not_worse(stat(a, problem_se=se), stat(0.40, problem_se=se), 0.02, "a vs b").verdict == verdict


def test_an_open_comparison_says_how_many_seeds_would_settle_it():
    # sd 0.03 and problem SE 0.01 a side, 3 seeds: se = hypot(0.02, 0.02) = 0.0283; +0.05 in [-0.005, +0.105]
    # settling needs Z·se(n) < 0.05: 0.0018/n + 0.0002 < (0.05/Z)^2 = 0.000651, so n > 3.99: 4 seeds
    gap = beats(stat(0.45, sd=0.03), stat(0.40, sd=0.03), 0.02, "a vs b")
    assert gap.verdict == MISSING and gap.seeds == 4
    # +0.02, the claimed effect itself: it must clear 0 by 0.02, but the problems' SE alone gives
    # Z·hypot(0.01, 0.01) = 0.028 > 0.02, so no number of seeds will
    assert beats(stat(0.42, sd=0.03), stat(0.40, sd=0.03), 0.02, "a vs b").seeds == NEVER
    # not_worse: -0.01 must clear the -0.02 margin by 0.01; the floor 0.028 is wider: never
    assert not_worse(stat(0.39, sd=0.03), stat(0.40, sd=0.03), 0.02, "a vs b").seeds == NEVER


def test_a_side_short_of_seeds_decides_nothing_and_one_seed_gives_no_estimate():
    short = stat(0.60, sd=0.03, n=2, enough=False, name="nsr on d (m)")
    gap = beats(short, stat(0.40), 0.02, "a vs b")
    assert gap.verdict == MISSING and gap.short == ("nsr on d (m) (2 seeds)",) and gap.text.endswith("(too few seeds)")
    single = Stat(0.60, 0.01, "nsr on d (m)", 1, False, math.nan, 0.0001)
    assert beats(single, stat(0.40), 0.02, "a vs b").seeds is None


def test_all_of_fails_on_one_failure_else_stays_open_with_the_most_seeds_needed():
    holds, fails = beats(stat(0.50), stat(0.40), 0.02, ""), beats(stat(0.40), stat(0.50), 0.02, "")
    open4 = beats(stat(0.45, sd=0.03), stat(0.40, sd=0.03), 0.02, "")
    open_never = beats(stat(0.42, sd=0.03), stat(0.40, sd=0.03), 0.02, "")
    assert all_of([holds, holds]).verdict == HOLDS
    assert all_of([holds, fails, open4]).verdict == FAILS
    assert (all_of([holds, open4]).verdict, all_of([holds, open4]).seeds) == (MISSING, 4)
    assert all_of([open4, open_never]).seeds == NEVER


def test_dash_time_factor_is_a_gap_of_log_wall_times():
    # 300 s vs 100 s to the target, 10% relative SE each (delta method): log gap ln 3 = 1.099,
    # se = hypot(0.1, 0.1) = 0.141, interval [0.822, 1.376], clear of 0 and reaching ln 2 = 0.693
    slow, fast = log_wall(Stat(300.0, 30.0, "s", 3, True, 2700.0, 0.0)), log_wall(Stat(100.0, 10.0, "f", 3, True, 300.0, 0.0))
    assert (slow.mean, slow.se, slow.seed_var) == pytest.approx((math.log(300), 0.1, 0.03))
    assert beats(slow, fast, math.log(2), "").verdict == HOLDS
    # 150 s vs 100 s: ln 1.5 = 0.405, [0.128, 0.683] falls short of ln 2
    assert beats(log_wall(Stat(150.0, 15.0, "s", 3, True, 675.0, 0.0)), fast, math.log(2), "").verdict == FAILS
    # DASH never reaching the target fails; only DASH reaching it holds
    never = log_wall(Stat(math.inf, math.nan, "f", 3, True, math.nan, 0.0))
    assert beats(slow, never, math.log(2), "").verdict == FAILS
    assert beats(never, fast, math.log(2), "").verdict == HOLDS
