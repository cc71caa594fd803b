"""The leaderboard: rows (algorithm, model), columns (dataset, pass@k | time to target).

Built once from the tidy table; the format writers (markdown, latex, csv, html)
only decide how a cell looks, so every format shows the same numbers and bold cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.report.summary import TIME_METRICS, seed_mean
from bench.report.target import Threshold
from bench.style import order

MISSING = "–"
NOT_REACHED = "n/r"


@dataclass
class Board:
    mean: pd.DataFrame  # index (algorithm, model), columns (dataset, column name)
    se: pd.DataFrame  # same shape: SE over seeds, or the run's own SE with one seed
    best: pd.DataFrame  # same shape: True where the cell is its column's best
    seeds: pd.Series  # index (algorithm, model): seeds behind the row's cells, "3" or a range "1-3"
    thresholds: dict[tuple[str, str], Threshold]  # (model, dataset) -> the pass@1 of the time-to-target columns

    @property
    def rows(self) -> list[tuple[str, str]]:
        return list(self.mean.index)

    @property
    def columns(self) -> list[tuple[str, str]]:
        return list(self.mean.columns)


def column_name(metric: str, k: int) -> str:
    return {"steps_to_target": "steps to target", "wall_to_target": "wall s to target"}.get(metric, f"{metric}@{k}")


def higher_is_better(column: str) -> bool:
    return column.startswith("pass@")


def leaderboard(tidy: pd.DataFrame, ks: list[int], thresholds: dict[tuple[str, str], Threshold]) -> Board:
    summary = seed_mean(tidy)
    wanted = summary[((summary.metric == "pass") & summary.k.isin(ks)) | summary.metric.isin(TIME_METRICS)].copy()
    wanted["column"] = [column_name(m, k) for m, k in zip(wanted.metric, wanted.k)]
    # within a dataset: pass@k by k, then steps, then wall seconds
    wanted["rank"] = [k if m == "pass" else 10**9 + list(TIME_METRICS).index(m) for m, k in zip(wanted.metric, wanted.k)]
    wide = wanted.pivot(index=["algorithm", "model"], columns=["dataset", "column"], values=["mean", "se", "n_seeds"])
    algorithms = order(wide.index.get_level_values(0))
    rows = sorted(wide.index, key=lambda r: (algorithms.index(r[0]), r[1]))
    columns = list(wanted.sort_values(["dataset", "rank"])[["dataset", "column"]].drop_duplicates().itertuples(index=False, name=None))
    mean = wide["mean"].loc[rows, columns].astype(float)
    seeds = wide["n_seeds"].loc[rows]
    return Board(mean, wide["se"].loc[rows, columns].astype(float), best_cells(mean), seed_counts(seeds.min(axis=1), seeds.max(axis=1)), thresholds)


def seed_counts(fewest: pd.Series, most: pd.Series) -> pd.Series:
    """One number where every cell of a row has as many seeds, else the range (a split run with fewer seeds)."""
    return pd.Series([f"{lo:.0f}" if lo == hi else f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(fewest, most)], index=fewest.index)


def best_cells(mean: pd.DataFrame) -> pd.DataFrame:
    best = pd.DataFrame(False, index=mean.index, columns=mean.columns)
    for column in mean.columns:
        finite = mean[column][np.isfinite(mean[column])]
        if len(finite):
            top = finite.max() if higher_is_better(column[1]) else finite.min()
            best[column] = np.isclose(mean[column], top)
    return best


def cell_text(mean: float, se: float, column: str, pm: str = "±") -> str:
    if math.isnan(mean):
        return MISSING
    if math.isinf(mean):
        return NOT_REACHED
    digits = 3 if higher_is_better(column) else 1
    return f"{mean:.{digits}f}" + ("" if math.isnan(se) else f" {pm} {se:.{digits}f}")


def legend(board: Board) -> str:
    text = "Mean over seeds ± SE (sd/√n over seeds with two or more seeds, else the run's SE over problems); best per column in bold."
    timed = {dataset for dataset, column in board.columns if not higher_is_better(column)}
    if not timed:
        return text
    several = len({model for _, model in board.rows}) > 1
    targets = "; ".join(f"{dataset}{f' ({model})' if several else ''} {threshold}" for (model, dataset), threshold in sorted(board.thresholds.items()) if dataset in timed)
    return (
        f"{text} Time to target: training steps and seconds (evaluation excluded) until mid-training pass@1 first reaches "
        f"the target pass@1 ({targets}); {NOT_REACHED}: a seed never reached it; {MISSING}: not measured."
    )
