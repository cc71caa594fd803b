"""The headline claims of the papers we reproduce, each checked by a rule computed from the runs.

Every claim yields its rule, the numbers behind it, a verdict (holds / does not
hold / not enough runs) and, when not enough, the reason; nothing is typed by hand.
Comparisons use seed means and the SE of a difference, se = sqrt(se_a^2 + se_b^2),
each side's SE combining its seed spread with its runs' SE over problems
(bench/report/summary.py):
  above(a, b)      a > b + 2*se: yes; a <= b - 2*se: no; in between: undecided  ("raises", "beats", "lowers")
  not_below(a, b)  a >= b - 2*se                 ("at every k", "does not hurt": not worse beyond noise)
A side with fewer than min_seeds seeds (default MIN_SEEDS) decides nothing: a seed mean of one
or two runs says little about training noise, and two agreeing seeds would read SE 0.
A claim holds when its rule holds in every (model, dataset) cell that has the runs it needs; it does
not hold when it fails in one; a gap within noise or too few seeds leaves it undecided, which more
seeds could settle, so it reads "not enough runs" with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bench.report.summary import seed_mean

HOLDS, FAILS, MISSING = "holds", "does not hold", "not enough runs"
Z = 2.0  # SEs of slack in not_below
DASH_FACTOR = 2.0  # "a large factor": at least this much less wall time to the target
MIN_SEEDS = 3  # seeds per side before a comparison decides anything


@dataclass(frozen=True)
class Stat:
    mean: float
    se: float  # seed spread and SE over problems combined
    cell: str  # "nsr on gsm8k_synth (tiny)": names the cell in a reason
    n_seeds: int
    enough: bool  # n_seeds >= the report's min_seeds

    def __str__(self) -> str:
        return f"{self.mean:.3f}±{self.se:.3f}" if not math.isnan(self.se) else f"{self.mean:.3f}"


@dataclass(frozen=True)
class Thin:
    """A comparison with too few seeds on a side: "seeds" names each such cell and its count."""

    seeds: tuple[str, ...]


Outcome = bool | None | Thin  # decided yes / no, within noise, too few seeds


@dataclass(frozen=True)
class Verdict:
    claim: str
    rule: str
    verdict: str
    evidence: tuple[str, ...]
    reason: str = ""  # why "not enough runs"; empty for a decided verdict


def diff_se(a: Stat, b: Stat) -> float:
    return math.hypot(0.0 if math.isnan(a.se) else a.se, 0.0 if math.isnan(b.se) else b.se)


def thin(*stats: Stat) -> Thin | None:
    """The sides with too few seeds, or None when every side has enough."""
    short = tuple(f"{s.cell} ({s.n_seeds} seed{'s' if s.n_seeds != 1 else ''})" for s in stats if not s.enough)
    return Thin(short) if short else None


def above(a: Stat, b: Stat) -> Outcome:
    """True beyond noise, False when a is at or below b beyond noise (a tie counts), None within it."""
    if short := thin(a, b):
        return short
    gap, margin = a.mean - b.mean, Z * diff_se(a, b)
    return True if gap > margin else False if gap <= -margin else None


def not_below(a: Stat, b: Stat) -> Outcome:
    return thin(a, b) or a.mean >= b.mean - Z * diff_se(a, b)


def all_of(*outcomes: Outcome) -> Outcome:
    """Four-valued and: one False decides; else too few seeds, then one undecided, leave it open."""
    if False in outcomes:
        return False
    short = [o for o in outcomes if isinstance(o, Thin)]
    if short:
        return Thin(tuple(dict.fromkeys(c for o in short for c in o.seeds)))
    return None if None in outcomes else True


def conclude(claim: str, rule: str, outcomes: list[Outcome], evidence: list[str], min_seeds: int) -> Verdict:
    """The claim's verdict over its cells, with the reason when the runs cannot decide it."""
    if not outcomes:
        return Verdict(claim, rule, MISSING, tuple(evidence), "no runs to compare")
    decided = all_of(*outcomes)
    if decided is True or decided is False:
        return Verdict(claim, rule, HOLDS if decided else FAILS, tuple(evidence))
    reasons = []
    short = tuple(dict.fromkeys(c for o in outcomes if isinstance(o, Thin) for c in o.seeds))
    if short:
        reasons.append(f"fewer than {min_seeds} seeds: " + ", ".join(short))
    if None in outcomes:
        reasons.append(f"gaps within {Z:g}·SE")
    return Verdict(claim, rule, MISSING, tuple(evidence), "; ".join(reasons))


def tag(outcome: Outcome) -> str:
    """Marks a comparison the verdict could not decide."""
    return f" (within {Z:g}·SE)" if outcome is None else " (too few seeds)" if isinstance(outcome, Thin) else ""


class Cells:
    """Seed-averaged lookups: (algorithm, model, dataset, metric, k) -> Stat, each marked with whether it has min_seeds seeds."""

    def __init__(self, tidy: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> None:
        if min_seeds < 1:
            raise ValueError(f"min_seeds must be at least 1, got {min_seeds}")
        self.min_seeds = min_seeds
        self.summary = seed_mean(tidy)
        self.stats = {
            (r.algorithm, r.model, r.dataset, r.metric, r.k): Stat(r.mean, r.combined_se, f"{r.algorithm} on {r.dataset} ({r.model})", int(r.n_seeds), r.n_seeds >= min_seeds)
            for r in self.summary.itertuples()
        }

    def places(self, *algorithms: str) -> list[tuple[str, str]]:
        """(model, dataset) cells where every named algorithm has pass@k results."""
        rows = self.summary[self.summary.metric == "pass"]
        sets = [set(zip(*[rows[rows.algorithm == a][c] for c in ("model", "dataset")])) for a in algorithms]
        return sorted(set.intersection(*sets))

    def ks(self, model: str, dataset: str, *algorithms: str) -> list[int]:
        """The ks at which every named algorithm has pass@k in this cell."""
        ks = {key[4] for key in self.stats if key[1:4] == (model, dataset, "pass")}
        return sorted(k for k in ks if all((a, model, dataset, "pass", k) in self.stats for a in algorithms))

    def get(self, algorithm: str, model: str, dataset: str, metric: str = "pass", k: int = 1) -> Stat | None:
        return self.stats.get((algorithm, model, dataset, metric, k))

    def attribute(self, algorithm: str, column: str):
        return self.summary[self.summary.algorithm == algorithm][column].iloc[0]

    def hard_datasets(self) -> set[str]:
        return set(self.summary[self.summary.difficulty == "hard"].dataset)


def nsr_every_k(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    for model, dataset in cells.places("nsr", "base"):
        ks = cells.ks(model, dataset, "nsr", "base")
        pairs = [(k, cells.get("nsr", model, dataset, k=k), cells.get("base", model, dataset, k=k)) for k in ks]
        mean_gain = sum(a.mean - b.mean for _, a, b in pairs) / len(pairs)
        outcome = all_of(*(not_below(a, b) for _, a, b in pairs), thin(*(s for _, a, b in pairs for s in (a, b))) or mean_gain > 0)
        outcomes.append(outcome)
        evidence.append(f"{dataset} ({model}): " + "; ".join(f"pass@{k} {a} vs base {b}" for k, a, b in pairs) + f"; mean gain {mean_gain:+.3f}{tag(outcome)}")
    return conclude("NSR raises pass@k over the base at every k", f"NSR >= base - {Z:g}·SE at every k, and NSR > base averaged over k", outcomes, evidence, cells.min_seeds)


def psr_trades_breadth(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    for model, dataset in cells.places("psr", "base"):
        kmax = max(cells.ks(model, dataset, "psr", "base"))
        if kmax == 1:
            continue
        p1, b1 = cells.get("psr", model, dataset), cells.get("base", model, dataset)
        pk, bk = cells.get("psr", model, dataset, k=kmax), cells.get("base", model, dataset, k=kmax)
        raised, lowered = above(p1, b1), above(bk, pk)
        outcomes.append(all_of(raised, lowered))
        evidence.append(f"{dataset} ({model}): pass@1 {p1} vs base {b1}{tag(raised)}; pass@{kmax} {pk} vs base {bk}{tag(lowered)}")
    return conclude("PSR raises pass@1 but lowers large-k pass@k", f"PSR > base + {Z:g}·SE at pass@1 and PSR < base - {Z:g}·SE at the largest k evaluated (> 1)", outcomes, evidence, cells.min_seeds)


def w_reinforce_best(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    trained = [a for a in cells.summary.algorithm.unique() if a not in ("base", "w_reinforce")]
    for model, dataset in cells.places("w_reinforce"):
        others = [a for a in trained if (model, dataset) in cells.places(a)]
        if not others:
            continue
        checks = []
        for k in cells.ks(model, dataset, "w_reinforce"):
            rivals = [(a, cells.get(a, model, dataset, k=k)) for a in others if cells.get(a, model, dataset, k=k)]
            if rivals:
                name, best = max(rivals, key=lambda r: r[1].mean)
                w = cells.get("w_reinforce", model, dataset, k=k)
                checks.append(not_below(w, best))
                evidence.append(f"{dataset} ({model}) pass@{k}: w_reinforce {w} vs best other {name} {best}{tag(checks[-1])}")
        outcomes.append(all_of(*checks))
    return conclude("W-REINFORCE is best overall", f"W-REINFORCE >= best other trained algorithm - {Z:g}·SE at every k", outcomes, evidence, cells.min_seeds)


def beats_rl_and_sft_on_hard(name: str, title: str) -> Callable[[Cells], Verdict]:
    def check(cells: Cells) -> Verdict:
        outcomes, evidence = [], []
        hard = cells.hard_datasets()
        for model, dataset in cells.places(name, "grpo", "sft"):
            if dataset not in hard:
                continue
            x, g, s = (cells.get(a, model, dataset) for a in (name, "grpo", "sft"))
            over_rl, over_sft = above(x, g), above(x, s)
            outcomes.append(all_of(over_rl, over_sft))
            evidence.append(f"{dataset} ({model}) pass@1: {name} {x} vs grpo {g}{tag(over_rl)}, sft {s}{tag(over_sft)}")
        return conclude(f"{title} beats pure RL (GRPO) and pure SFT when reward is sparse (hard split)", f"{name} > grpo + {Z:g}·SE and {name} > sft + {Z:g}·SE at pass@1 on every hard-split dataset", outcomes, evidence, cells.min_seeds)

    return check


def dash_speedup(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    for label in sorted(a for a in cells.summary.algorithm.unique() if a.endswith("+dash")):
        plain = label.removesuffix("+dash") + "+sequential"
        for model, dataset in cells.places(label, plain):
            fast, slow = cells.get(label, model, dataset, "wall_to_target"), cells.get(plain, model, dataset, "wall_to_target")
            if fast is None or slow is None or math.isinf(fast.mean) and math.isinf(slow.mean):
                continue
            factor = slow.mean / fast.mean if fast.mean > 0 else math.inf
            a, b = cells.get(label, model, dataset), cells.get(plain, model, dataset)
            outcome = all_of(thin(fast, slow) or factor >= DASH_FACTOR, not_below(a, b))
            outcomes.append(outcome)
            evidence.append(f"{dataset} ({model}): wall to target {slow.mean:.1f}s -> {fast.mean:.1f}s ({factor:.1f}x); pass@1 {label} {a} vs {plain} {b}{tag(outcome)}")
    return conclude(
        "DASH cuts time-to-accuracy of GRPO by a large factor without losing accuracy",
        f"each X+dash (preemptive sampling + gradient filtering) vs X+sequential (neither): wall time to target "
        f"at least {DASH_FACTOR:g}x shorter and pass@1 >= X+sequential's - {Z:g}·SE",
        outcomes, evidence, cells.min_seeds,
    )


def rl_beats_sft(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    for model, dataset in cells.places("grpo", "sft"):
        g, s = cells.get("grpo", model, dataset), cells.get("sft", model, dataset)
        outcome = above(g, s)
        outcomes.append(outcome)
        evidence.append(f"{dataset} ({model}) pass@1: grpo {g} vs sft {s}{tag(outcome)}")
    return conclude("On-policy RL beats SFT", f"grpo > sft + {Z:g}·SE at pass@1 on every dataset", outcomes, evidence, cells.min_seeds)


def kl_free(cells: Cells) -> Verdict:
    outcomes, evidence = [], []
    labels = [a for a in cells.summary.algorithm.unique() if a != "base" and not math.isnan(cells.attribute(a, "kl_coef"))]
    for free in (a for a in labels if cells.attribute(a, "kl_coef") == 0):
        same = [a for a in labels if all(cells.attribute(a, c) == cells.attribute(free, c) for c in ("family", "dash"))]
        for tied in (a for a in same if cells.attribute(a, "kl_coef") > 0):
            for model, dataset in cells.places(free, tied):
                pairs = [(k, cells.get(free, model, dataset, k=k), cells.get(tied, model, dataset, k=k)) for k in cells.ks(model, dataset, free, tied)]
                outcome = all_of(*(not_below(a, b) for _, a, b in pairs))
                outcomes.append(outcome)
                evidence.append(f"{dataset} ({model}): " + "; ".join(f"pass@{k} {free} {a} vs {tied} {b}" for k, a, b in pairs) + tag(outcome))
    return conclude("Dropping KL does not hurt", f"within one algorithm and DASH setting, kl_coef=0 >= kl_coef>0 - {Z:g}·SE at every k", outcomes, evidence, cells.min_seeds)


CLAIMS = [
    nsr_every_k,
    psr_trades_breadth,
    w_reinforce_best,
    beats_rl_and_sft_on_hard("relift", "ReLIFT"),
    beats_rl_and_sft_on_hard("superrl", "SuperRL"),
    dash_speedup,
    rl_beats_sft,
    kl_free,
]


def check_claims(tidy: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> list[Verdict]:
    cells = Cells(tidy, min_seeds)
    return [claim(cells) for claim in CLAIMS]


def claims_markdown(verdicts: list[Verdict]) -> str:
    lines = ["# Headline claims, checked against the runs", "", "| claim | verdict |", "|---|---|"]
    lines += [f"| {v.claim} | **{v.verdict}**{f' ({v.reason})' if v.reason else ''} |" for v in verdicts]
    for v in verdicts:
        lines += ["", f"## {v.claim}: {v.verdict}", "", f"Rule: {v.rule}.", ""]
        if v.reason:
            lines += [f"Why not decided: {v.reason}.", ""]
        lines += [f"- {e}" for e in v.evidence] or ["- no runs to compare"]
    return "\n".join(lines) + "\n"
