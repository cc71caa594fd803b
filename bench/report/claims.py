"""The headline claims of the papers we reproduce, each checked by a rule computed from the runs.

Every claim states the effect it claims and yields its rule, the numbers behind it, a verdict
(holds / does not hold / not enough runs) and, when not decided, why and how many seeds would
likely settle it; nothing is typed by hand. Each comparison is decided on the 95% interval of a
gap between seed means (bench/report/decide.py). A claim holds when every comparison it makes
holds, in every (model, dataset) cell that has the runs; one that does not hold decides it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bench.report.decide import FAILS, HOLDS, MISSING, NEVER, Gap, Stat, all_of, beats, not_worse
from bench.report.summary import seed_mean

__all__ = ["FAILS", "HOLDS", "MISSING", "MIN_SEEDS", "Verdict", "check_claims", "claims_markdown"]

EFFECT = 0.02  # "beats", "raises", "lowers": by at least this much pass@k (absolute)
MARGIN = 0.02  # "does not hurt", "best": worse by less than this much pass@k
DASH_FACTOR = 2.0  # "a large factor": at least this much less wall time to the target
MIN_SEEDS = 3  # seeds per side before a comparison decides anything


@dataclass(frozen=True)
class Verdict:
    claim: str
    rule: str
    verdict: str
    evidence: tuple[str, ...]
    reason: str = ""  # why "not enough runs"; empty for a decided verdict
    seeds: float | None = None  # not decided: seeds per side that would likely settle it (NEVER: none would)


class Cells:
    """Seed-averaged lookups: (algorithm, model, dataset, metric, k) -> Stat, each marked with whether it has min_seeds seeds."""

    def __init__(self, tidy: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> None:
        if min_seeds < 1:
            raise ValueError(f"min_seeds must be at least 1, got {min_seeds}")
        self.min_seeds = min_seeds
        self.summary = seed_mean(tidy)
        self.stats = {
            (r.algorithm, r.model, r.dataset, r.metric, r.k): Stat(
                r.mean, r.combined_se, f"{r.algorithm} on {r.dataset} ({r.model})", int(r.n_seeds), r.n_seeds >= min_seeds,
                r.seed_var, r.problem_var,
            )
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

    def sparse_datasets(self) -> set[str]:
        return set(self.summary[self.summary.difficulty == "sparse"].dataset)


def conclude(claim: str, rule: str, gaps: list[Gap], min_seeds: int) -> Verdict:
    """The claim's verdict over its comparisons, with why and how many seeds when the runs cannot decide it."""
    evidence = tuple(g.text for g in gaps)
    if not gaps:
        return Verdict(claim, rule, MISSING, evidence, "no runs to compare")
    decided = all_of(gaps)
    if decided.verdict != MISSING:
        return Verdict(claim, rule, decided.verdict, evidence)
    reasons = []
    if decided.short:
        reasons.append(f"fewer than {min_seeds} seeds: " + ", ".join(decided.short))
    if any(g.verdict == MISSING and not g.short for g in gaps):
        reasons.append("a 95% interval spans both the null and the claimed effect")
    if decided.seeds is None:
        reasons.append(f"run at least {max(min_seeds, 2)} seeds of every side to estimate how many would settle it")
    elif decided.seeds == NEVER:
        reasons.append("more seeds would not settle it (the test problems' own SE is too wide): more evaluation problems would")
    else:
        reasons.append(f"about {decided.seeds:.0f} seeds per side would likely settle it")
    return Verdict(claim, rule, MISSING, evidence, "; ".join(reasons), decided.seeds)


def cell_name(model: str, dataset: str, k: int | None = None) -> str:
    return f"{dataset} ({model})" + (f" pass@{k}" if k is not None else "")


def nsr_every_k(cells: Cells) -> Verdict:
    gaps = []
    for model, dataset in cells.places("nsr", "base"):
        for k in cells.ks(model, dataset, "nsr", "base"):
            base = cells.get("base", model, dataset, k=k)
            if base.mean > 1 - EFFECT:  # saturated: nothing can raise it by EFFECT
                continue
            gaps.append(beats(cells.get("nsr", model, dataset, k=k), base, EFFECT, f"{cell_name(model, dataset, k)} nsr vs base"))
    return conclude(
        "NSR raises pass@k over the base at every k",
        f"at every k where the base is below {1 - EFFECT:g}, NSR beats the base by at least {EFFECT:g}", gaps, cells.min_seeds,
    )


def trades_breadth(name: str, title: str) -> Callable[[Cells], Verdict]:
    """`name` raises pass@1 over the base but lowers pass@k at the largest k evaluated (> 1)."""

    def check(cells: Cells) -> Verdict:
        gaps = []
        for model, dataset in cells.places(name, "base"):
            kmax = max(cells.ks(model, dataset, name, "base"))
            if kmax == 1:
                continue
            get = lambda algorithm, k: cells.get(algorithm, model, dataset, k=k)  # noqa: E731
            gaps.append(beats(get(name, 1), get("base", 1), EFFECT, f"{cell_name(model, dataset, 1)} {name} vs base"))
            gaps.append(beats(get("base", kmax), get(name, kmax), EFFECT, f"{cell_name(model, dataset, kmax)} base vs {name}"))
        return conclude(
            f"{title} raises pass@1 but lowers pass@k at the largest k",
            f"{name} beats the base at pass@1 by at least {EFFECT:g}, and the base beats {name} at the largest k (> 1) by at least {EFFECT:g}",
            gaps, cells.min_seeds,
        )

    return check


def w_reinforce_best(cells: Cells) -> Verdict:
    gaps = []
    trained = [a for a in cells.summary.algorithm.unique() if a not in ("base", "w_reinforce")]
    for model, dataset in cells.places("w_reinforce"):
        others = [a for a in trained if (model, dataset) in cells.places(a)]
        for k in cells.ks(model, dataset, "w_reinforce"):
            rivals = [(a, cells.get(a, model, dataset, k=k)) for a in others if cells.get(a, model, dataset, k=k)]
            if rivals:
                name, best = max(rivals, key=lambda r: r[1].mean)
                gaps.append(not_worse(cells.get("w_reinforce", model, dataset, k=k), best, MARGIN, f"{cell_name(model, dataset, k)} w_reinforce vs best other {name}"))
    return conclude("W-REINFORCE is best overall", f"at every k, W-REINFORCE is worse than the best other trained algorithm by less than {MARGIN:g}", gaps, cells.min_seeds)


def beats_rl_and_sft_on_sparse(name: str, title: str) -> Callable[[Cells], Verdict]:
    def check(cells: Cells) -> Verdict:
        gaps = []
        sparse = cells.sparse_datasets()
        for model, dataset in cells.places(name, "grpo", "sft"):
            if dataset in sparse:
                x = cells.get(name, model, dataset)
                for rival in ("grpo", "sft"):
                    gaps.append(beats(x, cells.get(rival, model, dataset), EFFECT, f"{cell_name(model, dataset, 1)} {name} vs {rival}"))
        return conclude(
            f"{title} beats pure RL (GRPO) and pure SFT when reward is sparse (sparse split)",
            f"on every sparse-split dataset, {name} beats grpo and sft at pass@1 by at least {EFFECT:g}", gaps, cells.min_seeds,
        )

    return check


def log_wall(stat: Stat) -> Stat:
    """Wall time to target on a log scale (the delta method: se/mean), so a speed-up factor is a gap."""
    relative = stat.se / stat.mean if stat.mean > 0 and not math.isinf(stat.mean) else math.nan
    seed_var = stat.seed_var / stat.mean**2 if stat.mean > 0 and not math.isinf(stat.mean) else math.nan
    return Stat(math.log(stat.mean) if stat.mean > 0 else -math.inf, relative, stat.cell, stat.n_seeds, stat.enough, seed_var, 0.0)


def dash_speedup(cells: Cells) -> Verdict:
    gaps = []
    for label in sorted(a for a in cells.summary.algorithm.unique() if a.endswith("+dash")):
        plain = label.removesuffix("+dash") + "+sequential"
        for model, dataset in cells.places(label, plain):
            fast, slow = cells.get(label, model, dataset, "wall_to_target"), cells.get(plain, model, dataset, "wall_to_target")
            if fast is None or slow is None or math.isinf(fast.mean) and math.isinf(slow.mean):
                continue
            where = cell_name(model, dataset)
            gaps.append(beats(log_wall(slow), log_wall(fast), math.log(DASH_FACTOR), f"{where} log wall time to target, {plain} vs {label}"))
            a, b = cells.get(label, model, dataset), cells.get(plain, model, dataset)
            gaps.append(not_worse(a, b, MARGIN, f"{where} pass@1 {label} vs {plain}"))
    return conclude(
        "DASH cuts time-to-accuracy of GRPO by a large factor without losing accuracy",
        f"each X+dash (preemptive sampling + gradient filtering) vs X+sequential (neither): wall time to target at least "
        f"{DASH_FACTOR:g}x shorter (a log gap of {math.log(DASH_FACTOR):.3f}), and pass@1 worse by less than {MARGIN:g}",
        gaps, cells.min_seeds,
    )


def rl_beats_sft(cells: Cells) -> Verdict:
    gaps = [beats(cells.get("grpo", m, d), cells.get("sft", m, d), EFFECT, f"{cell_name(m, d, 1)} grpo vs sft") for m, d in cells.places("grpo", "sft")]
    return conclude("On-policy RL beats SFT", f"on every dataset, grpo beats sft at pass@1 by at least {EFFECT:g}", gaps, cells.min_seeds)


def kl_free(cells: Cells) -> Verdict:
    gaps = []
    labels = [a for a in cells.summary.algorithm.unique() if a != "base" and not math.isnan(cells.attribute(a, "kl_coef"))]
    for free in (a for a in labels if cells.attribute(a, "kl_coef") == 0):
        same = [a for a in labels if all(cells.attribute(a, c) == cells.attribute(free, c) for c in ("family", "dash"))]
        for tied in (a for a in same if cells.attribute(a, "kl_coef") > 0):
            for model, dataset in cells.places(free, tied):
                for k in cells.ks(model, dataset, free, tied):
                    get = lambda algorithm: cells.get(algorithm, model, dataset, k=k)  # noqa: E731
                    gaps.append(not_worse(get(free), get(tied), MARGIN, f"{cell_name(model, dataset, k)} {free} vs {tied}"))
    return conclude("Dropping KL does not hurt", f"within one algorithm and DASH setting, at every k kl_coef=0 is worse than kl_coef>0 by less than {MARGIN:g}", gaps, cells.min_seeds)


CLAIMS = [
    nsr_every_k,
    trades_breadth("psr", "PSR"),
    w_reinforce_best,
    beats_rl_and_sft_on_sparse("relift", "ReLIFT"),
    beats_rl_and_sft_on_sparse("superrl", "SuperRL"),
    dash_speedup,
    rl_beats_sft,
    kl_free,
    trades_breadth("grpo", "RL (GRPO)"),
]


def check_claims(tidy: pd.DataFrame, min_seeds: int = MIN_SEEDS) -> list[Verdict]:
    cells = Cells(tidy, min_seeds)
    return [claim(cells) for claim in CLAIMS]


def claims_markdown(verdicts: list[Verdict]) -> str:
    lines = ["# Headline claims, checked against the runs", "", "| claim | verdict |", "|---|---|"]
    lines += [f"| {v.claim} | **{v.verdict}**{f' ({v.reason})' if v.reason else ''} |" for v in verdicts]
    for v in verdicts:
        lines += ["", f"## {v.claim}: {v.verdict}", "", f"Rule: {v.rule}; each gap with its 95% interval.", ""]
        if v.reason:
            lines += [f"Why not decided: {v.reason}.", ""]
        lines += [f"- {e}" for e in v.evidence] or ["- no runs to compare"]
    return "\n".join(lines) + "\n"
