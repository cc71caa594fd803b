"""How one comparison of two seed-averaged cells decides a claim: the 95% interval of their gap.

A claim states the effect it claims. The gap a - b gets the interval gap ± 1.96·se, with
se = sqrt(se_a² + se_b²) and each side's se its seed spread plus its runs' SE over problems
(`combined_se`, bench/report/summary.py). Then, for "a beats b by at least `effect`":
  does not hold    the interval lies below the claimed effect (hi < effect)
  not enough runs  the interval spans both 0 and the claimed effect
  holds            otherwise: above 0 and reaching the claimed effect
and for "a is no worse than b by more than `margin`" the claimed effect is gap >= -margin:
holds when the interval lies above -margin, does not hold when it lies below it, else open.
A side with fewer than the report's minimum seeds decides nothing.

An open comparison says how many seeds per side would likely settle it: the seed spread shrinks
as 1/n but the SE over problems does not (every seed is scored on the same test problems), so
holding today's gap and spreads fixed, the interval narrows to a floor that may still span the
threshold; then more seeds will not settle it, more evaluation problems would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

HOLDS, FAILS, MISSING = "holds", "does not hold", "not enough runs"
Z = NormalDist().inv_cdf(0.975)  # 95% two-sided
NEVER = math.inf  # seeds that would settle a comparison more seeds cannot settle


@dataclass(frozen=True)
class Stat:
    """One (algorithm, model, dataset, metric, k) cell averaged over its seeds."""

    mean: float
    se: float  # seed spread and SE over problems combined
    cell: str  # "nsr on gsm8k_synth (tiny)": names the cell in a reason
    n_seeds: int
    enough: bool  # n_seeds >= the report's min_seeds
    seed_var: float = math.nan  # variance of the per-seed values (nan with one seed)
    problem_var: float = 0.0  # mean over seeds of each run's squared SE over problems

    def __str__(self) -> str:
        return f"{self.mean:.3f}±{self.se:.3f}" if not math.isnan(self.se) else f"{self.mean:.3f}"


@dataclass(frozen=True)
class Gap:
    """One comparison and what it decides."""

    verdict: str  # HOLDS, FAILS or MISSING
    text: str  # the evidence: the numbers, the interval, the claimed effect
    short: tuple[str, ...] = ()  # the sides with too few seeds
    seeds: float | None = None  # open: seeds per side that would likely settle it (NEVER: none would; None: unknown)


def diff_se(a: Stat, b: Stat) -> float:
    return math.hypot(0.0 if math.isnan(a.se) else a.se, 0.0 if math.isnan(b.se) else b.se)


def _interval(gap: float, se: float) -> str:
    return f"{gap:+.3f} [{gap - Z * se:+.3f}, {gap + Z * se:+.3f}]"


def beats(a: Stat, b: Stat, effect: float, what: str) -> Gap:
    """`a` beats `b` by at least `effect` (> 0). `what` names the comparison in the evidence."""
    gap, se = a.mean - b.mean, diff_se(a, b)
    lo, hi = gap - Z * se, gap + Z * se
    text = f"{what}: {a} vs {b}, gap {_interval(gap, se)}, claimed >= {effect:+.3f}"
    if short := _short(a, b):
        return Gap(MISSING, text + " (too few seeds)", short, _seeds_to_clear(a, b, max(gap, effect - gap)))
    if hi < effect:
        return Gap(FAILS, text + " (below the claimed effect)")
    if lo > 0:
        return Gap(HOLDS, text + " (holds)")
    return Gap(MISSING, text + " (interval spans 0 and the claimed effect)", seeds=_seeds_to_clear(a, b, max(gap, effect - gap)))


def not_worse(a: Stat, b: Stat, margin: float, what: str) -> Gap:
    """`a` is no worse than `b` by more than `margin` (>= 0)."""
    gap, se = a.mean - b.mean, diff_se(a, b)
    lo, hi = gap - Z * se, gap + Z * se
    text = f"{what}: {a} vs {b}, gap {_interval(gap, se)}, claimed >= {-margin:+.3f}"
    if short := _short(a, b):
        return Gap(MISSING, text + " (too few seeds)", short, _seeds_to_clear(a, b, abs(gap + margin)))
    if lo > -margin:
        return Gap(HOLDS, text + " (holds)")
    if hi < -margin:
        return Gap(FAILS, text + " (below the claimed effect)")
    return Gap(MISSING, text + f" (interval spans {-margin:+.3f})", seeds=_seeds_to_clear(a, b, abs(gap + margin)))


def _short(*stats: Stat) -> tuple[str, ...]:
    return tuple(f"{s.cell} ({s.n_seeds} seed{'s' if s.n_seeds != 1 else ''})" for s in stats if not s.enough)


def _seeds_to_clear(a: Stat, b: Stat, distance: float) -> float | None:
    """Seeds per side at which Z·se falls below `distance` (from today's gap to the threshold it must
    clear), today's gap and per-seed spreads held fixed; NEVER when the problems' SE alone is too wide,
    None when a side's spread is unknown (one seed)."""
    if math.isnan(a.seed_var) or math.isnan(b.seed_var):
        return None
    floor = a.problem_var + b.problem_var
    room = (distance / Z) ** 2 - floor
    if room <= 0:
        return NEVER
    spread = a.seed_var + b.seed_var
    needed = math.floor(spread / room) + 1
    return max(needed, max(a.n_seeds, b.n_seeds) + 1)


def all_of(gaps: list[Gap]) -> Gap:
    """Every comparison of a claim: one that fails decides; else one open (or short of seeds) leaves
    the claim open, needing the most seeds any of them needs; else it holds."""
    verdicts = {g.verdict for g in gaps}
    verdict = FAILS if FAILS in verdicts else MISSING if MISSING in verdicts else HOLDS
    open_ = [g for g in gaps if g.verdict == MISSING]
    seeds = None if not open_ or any(g.seeds is None for g in open_) else max(g.seeds for g in open_)
    short = tuple(dict.fromkeys(s for g in gaps for s in g.short))
    return Gap(verdict, "", short, seeds)
