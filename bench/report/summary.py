"""Seed averaging and derived metrics, shared by the tables, the figures and the claims.

SE convention of the tables and figures (`se`): with two or more seeds, the spread
across seeds, sd/sqrt(n_seeds) (training and sampling noise; every seed sees the same
test problems); with one seed, that run's own stderr over problems.

The claims use `combined_se` = sqrt(sd^2/n_seeds + mean(per-seed stderr^2)): the seed
spread plus the problem-sampling error, which averaging seeds cannot shrink because
every seed is scored on the same test problems. Two seeds that happen to agree
(sd = 0) thus still carry their runs' SE over problems, never a 0.000 that would make
any gap look decisive.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.report.target import Threshold

CELL = ["algorithm", "model", "dataset", "metric", "k"]
ATTRIBUTES = ["family", "difficulty", "kl_coef", "dash"]
TIME_METRICS = {"steps_to_target": "step", "wall_to_target": "wall_s"}  # tidy metric -> curve column


def seed_mean(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per (algorithm, model, dataset, metric, k): mean, se, combined_se (and its parts seed_var,
    problem_var), n_seeds, plus the algorithm's attributes."""
    attributes = [c for c in ATTRIBUTES if c in tidy]
    grouped = tidy.assign(stderr_sq=tidy.stderr**2).groupby(CELL, dropna=False, sort=False)
    out = grouped.agg(
        mean=("value", "mean"), sd=("value", "std"), n_seeds=("seed", "nunique"), own_se=("stderr", "first"),
        within_var=("stderr_sq", "mean"), **{c: (c, "first") for c in attributes},
    )
    # sd of values that include inf (a seed never reached the target) is nan: the mean stays inf, no SE
    several = out.n_seeds >= 2
    out["se"] = np.where(several, out.sd / np.sqrt(out.n_seeds), out.own_se)
    # time to target has no per-run SE (within_var nan): its seed spread alone
    spread_var = np.where(several, out.sd**2 / out.n_seeds, np.nan)
    out["combined_se"] = np.sqrt(np.where(several, spread_var + out.within_var.fillna(0.0), out.within_var))
    # the two parts apart, for how many seeds would settle a claim (bench/report/decide.py)
    out["seed_var"], out["problem_var"] = out.sd**2, out.within_var.fillna(0.0)
    return out.drop(columns=["sd", "own_se", "within_var"]).reset_index()


def time_to_target(curves: pd.DataFrame, tidy: pd.DataFrame, thresholds: dict[tuple[str, str], Threshold]) -> pd.DataFrame:
    """Steps and wall seconds until logged eval pass@1 first reaches its (model, dataset) threshold, as tidy rows (inf: never).

    Only runs that logged mid-training evaluations, on a dataset with a threshold, get rows.
    """
    runs = tidy[tidy.algorithm != "base"].drop_duplicates("run").set_index("run")
    rows = []
    logged = curves.dropna(subset=["eval_pass1"])
    for run, curve in logged[logged.run.isin(runs.index)].groupby("run"):
        info = runs.loc[run].to_dict() | {"run": run}
        threshold = thresholds.get((info["model"], info["dataset"]))
        if threshold is None:
            continue
        hit = curve[curve.eval_pass1 >= threshold.value].head(1)
        for metric, column in TIME_METRICS.items():
            value = float(hit[column].iloc[0]) if len(hit) else math.inf
            rows.append(info | {"metric": metric, "k": 1, "value": value, "stderr": math.nan})
    return pd.DataFrame(rows, columns=tidy.columns).astype(tidy.dtypes.to_dict())


def delta_vs_base(tidy: pd.DataFrame, metric: str = "pass") -> pd.DataFrame:
    """Per seed: trained minus base at each k; one seed's SE combines both stderrs as if independent."""
    rows = tidy[tidy.metric == metric]
    keys = ["model", "dataset", "seed", "k"]
    base = rows[rows.algorithm == "base"][[*keys, "value", "stderr"]]
    joined = rows[rows.algorithm != "base"].merge(base, on=keys, suffixes=("", "_base"))
    joined["value"] = joined.value - joined.value_base
    joined["stderr"] = np.hypot(joined.stderr, joined.stderr_base)
    return joined.drop(columns=["value_base", "stderr_base"])
