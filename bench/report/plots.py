"""Report figures, one per (model, dataset): pass@k, pass@k minus base, training
reward vs step and vs wall time, time to target.

Each shows the mean over seeds with a shaded ±1 SE band (bars: error bars), one
fixed look per algorithm (bench/style.py), one column wide, as PNG and PDF. The
title's second line says what the band is and over how many seeds: pass@k bands
are the SE over seeds (sd/sqrt(n), bench/report/summary.py) or, with one seed, the
run's SE over problems; reward bands are the SE over seeds, none with one seed.
Rollout rewards are smoothed per run by a trailing mean over REWARD_WINDOW steps
before the seed mean: one step's batch is too small a sample to read a trend from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from bench.report.summary import TIME_METRICS, delta_vs_base, seed_mean
from bench.report.target import Threshold
from bench.style import Look, draw_line, legend, looks, new_figure, order, save

REWARD_WINDOW = 10  # steps in the trailing mean of the reward curves
FIGURE_KINDS = ("passk", "passk_delta", "reward_vs_step", "reward_vs_wall", "time_to_target")  # file name prefixes


def facets(frame: pd.DataFrame, kind: str, out: Path) -> Iterator[tuple[pd.DataFrame, Path, str]]:
    """(rows, file stem, title) per (model, dataset); the model enters names only when there are several."""
    several = frame.model.nunique() > 1
    for (model, dataset), rows in frame.groupby(["model", "dataset"]):
        name = f"{kind}_{model}_{dataset}" if several else f"{kind}_{dataset}"
        yield rows, out / re.sub(r"[^A-Za-z0-9_.-]+", "_", name), f"{dataset} ({model})" if several else dataset


def seeds_text(n_seeds: pd.Series) -> str:
    lo, hi = int(n_seeds.min()), int(n_seeds.max())
    return f"{lo} seed{'s' if hi > 1 else ''}" if lo == hi else f"{lo}-{hi} seeds"


def caption(n_seeds: pd.Series, what: str = "bands", own_se: bool = True) -> str:
    """What the band (or error bar) of a figure's curves is, and over how many seeds.

    `own_se`: a one-seed curve's band is its run's SE over problems (pass@k); False: it has none (rewards, times).
    """
    seeds = seeds_text(n_seeds)
    if n_seeds.min() >= 2:
        return f"{what}: ±1 SE over seeds ({seeds})"
    if n_seeds.max() == 1:
        return f"{what}: ±1 SE over problems ({seeds})" if own_se else f"no {what} (1 seed)"
    alone = "the run's SE over problems" if own_se else "none"
    return f"{what}: ±1 SE over seeds ({seeds}; 1-seed curves: {alone})"


def band(ax, x, mean, se, name: str, look: Look, slot: int) -> None:
    """Mean line in the algorithm's look with a shaded ±SE band."""
    draw_line(ax, list(x), list(mean), name, look, slot)
    se = np.nan_to_num(np.asarray(se, dtype=float))
    ax.fill_between(x, np.asarray(mean) - se, np.asarray(mean) + se, color=look.colour, alpha=0.2, linewidth=0)


def finish(fig, ax, xlabel: str, ylabel: str, title: str, note: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n{note}")
    ax.grid(alpha=0.3, linewidth=0.5)
    legend(fig, ax)


def log2_k_axis(ax, ks: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()


def passk_figures(summary: pd.DataFrame, styles: dict[str, Look], out: Path, kind: str, ylabel: str) -> tuple[list[Path], dict[str, str]]:
    paths, captions = [], {}
    for rows, stem, title in facets(summary[summary.metric == "pass"], kind, out):
        fig, ax = new_figure()
        for slot, name in enumerate(order(rows.algorithm)):
            curve = rows[rows.algorithm == name].sort_values("k")
            band(ax, curve.k.astype(int), curve["mean"], curve.se, name, styles[name], slot)
        log2_k_axis(ax, sorted(rows.k.astype(int).unique()))
        if kind == "passk_delta":
            ax.axhline(0, color=styles["base"].colour if "base" in styles else "grey", linewidth=0.8, linestyle="--")
        else:  # from 0 up to what the curves reach, at most 1: near-zero curves (the hard split) stay readable
            top = min(1.0, ax.get_ylim()[1])
            ax.set_ylim(-0.02 * top, 1.02 * top)
        captions[stem.name] = caption(rows.n_seeds)
        finish(fig, ax, "k (samples)", ylabel, title, captions[stem.name])
        paths += save(fig, stem)
    return paths, captions


def reward_stats(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, algorithm, step): each run's trailing-mean reward, averaged over seeds, with its SE."""
    rewarded = curves.dropna(subset=["reward"]).sort_values(["run", "step"])
    rewarded = rewarded.assign(reward=rewarded.groupby("run").reward.transform(lambda r: r.rolling(REWARD_WINDOW, min_periods=1).mean()))
    stats = rewarded.groupby(["model", "dataset", "algorithm", "step"]).agg(
        reward=("reward", "mean"), sd=("reward", "std"), n=("seed", "nunique"), wall_s=("wall_s", "mean")).reset_index()
    stats["se"] = np.where(stats.n >= 2, stats.sd / np.sqrt(stats.n), np.nan)
    return stats


def reward_figures(curves: pd.DataFrame, styles: dict[str, Look], out: Path) -> tuple[list[Path], dict[str, str]]:
    stats = reward_stats(curves)
    paths, captions = [], {}
    for x, xlabel in (("step", "training step"), ("wall_s", "wall time (s)")):
        for rows, stem, title in facets(stats, f"reward_vs_{'step' if x == 'step' else 'wall'}", out):
            fig, ax = new_figure()
            for slot, name in enumerate(order(rows.algorithm)):
                curve = rows[rows.algorithm == name].sort_values("step")
                band(ax, curve[x], curve.reward, curve.se, name, styles[name], slot)
            if x == "step":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            captions[stem.name] = caption(rows.groupby("algorithm").n.max(), own_se=False)
            finish(fig, ax, xlabel, f"rollout reward ({REWARD_WINDOW}-step mean)", title, captions[stem.name])
            paths += save(fig, stem)
    return paths, captions


def time_figures(summary: pd.DataFrame, styles: dict[str, Look], thresholds: dict[tuple[str, str], Threshold], out: Path) -> tuple[list[Path], dict[str, str], list[str]]:
    """Bar charts of steps and wall time to the target; a facet where no run reached it is left out, with a note."""
    paths, captions, notes = [], {}, []
    for rows, stem, title in facets(summary[summary.metric.isin(TIME_METRICS)], "time_to_target", out):
        threshold = thresholds[rows.model.iloc[0], rows.dataset.iloc[0]]
        if not np.isfinite(rows["mean"].to_numpy(dtype=float)).any():
            notes.append(f"time to target: no run on {title} reached pass@1 {threshold.value:.3g}; figure skipped.")
            continue
        fig, axes = new_figure(3.6, rows=2)
        names = order(rows.algorithm)
        for ax, metric, ylabel in zip(axes, TIME_METRICS, ("steps", "wall time (s)")):
            cells = rows[rows.metric == metric].set_index("algorithm").reindex(names)
            heights = cells["mean"].to_numpy(dtype=float)
            finite = np.isfinite(heights)
            ax.bar(np.arange(len(names))[finite], heights[finite], yerr=cells.se.to_numpy(dtype=float)[finite],
                   color=[styles[n].colour for n, f in zip(names, finite) if f], capsize=2, error_kw={"linewidth": 0.8})
            for i in np.flatnonzero(np.isinf(heights)):
                ax.text(i, 0, "n/r", ha="center", va="bottom", fontsize=6)
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
            ax.set_xlim(-0.6, len(names) - 0.4)  # every algorithm keeps its slot, reached or not
            ax.set_ylabel(ylabel)
            ax.yaxis.set_major_locator(MaxNLocator(integer=metric == "steps_to_target"))
            ax.grid(alpha=0.3, linewidth=0.5, axis="y")
        # a seed that never reached the target has no SE: its bar has no error bar either
        captions[stem.name] = caption(rows.n_seeds, "error bars", own_se=False)
        axes[0].set_title(f"{title}: time to pass@1 ≥ {threshold.value:.3g}\n{captions[stem.name]}")
        paths += save(fig, stem)
    return paths, captions, notes


def clear_figures(out: Path) -> None:
    """Drop an earlier report's figures, so none survives that this one would not draw (a target nobody reaches now)."""
    for path in out.iterdir():
        if path.suffix in (".png", ".pdf") and path.name.startswith(tuple(f"{kind}_" for kind in FIGURE_KINDS)):
            path.unlink()


def make_plots(tidy: pd.DataFrame, curves: pd.DataFrame, thresholds: dict[tuple[str, str], Threshold], out: Path) -> tuple[list[Path], dict[str, str], list[str]]:
    """Write every figure under `out` (replacing the last report's).

    Returns the files, each figure's caption by file stem (what its bands are, over how
    many seeds; the HTML page shows it too), and notes on figures left out and why.
    """
    out.mkdir(parents=True, exist_ok=True)
    clear_figures(out)
    summary = seed_mean(tidy)
    styles = looks(tidy.algorithm.unique())
    paths, captions = passk_figures(summary, styles, out, "passk", "pass@k")
    notes = []
    delta = delta_vs_base(tidy)
    if len(delta):
        delta_paths, delta_captions = passk_figures(seed_mean(delta), styles, out, "passk_delta", "pass@k − base pass@k")
        paths, captions = paths + delta_paths, captions | delta_captions
    else:
        notes.append("pass@k minus base: no run evaluated its base policy (eval.base=false); figure skipped.")
    no_reward = sorted(set(tidy.algorithm) - {"base"} - set(curves.dropna(subset=["reward"]).algorithm))
    if no_reward:
        notes.append(f"training reward: no rollout reward logged for {', '.join(no_reward)} (SFT has none); left out of the reward figures.")
    reward_paths, reward_captions = reward_figures(curves, styles, out)
    paths, captions = paths + reward_paths, captions | reward_captions
    if summary.metric.isin(TIME_METRICS).any():
        time_paths, time_captions, time_notes = time_figures(summary, styles, thresholds, out)
        paths, captions, notes = paths + time_paths, captions | time_captions, notes + time_notes
    else:
        notes.append("time to target: no run logged mid-training evaluations (train.eval_every > 0); figure skipped.")
    return paths, captions, notes
