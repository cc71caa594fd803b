"""Read run dirs into tidy tables, so every table, figure and claim reads one source.

A run dir is any folder holding `config.yaml` (Hydra's `.hydra/` copies and other
hidden folders excluded). Its `eval.json` marks it complete; a run without a
readable one is logged by path and skipped, never fatal.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bench.resources import CONF_DIR

log = logging.getLogger("bench.report")

PRESETS = CONF_DIR / "algorithm"
# DASH options -> label suffix. Preemptive sampling is the engine's default (bench/config.py), so it
# alone adds nothing; absent keys (runs older than the options) read as the defaults.
DASH_SUFFIX = {("preemptive", "filter"): "+dash", ("filter",): "+filter", ("preemptive",): "", (): "+sequential"}
RUN_COLUMNS = ["run", "experiment", "algorithm", "family", "model", "dataset", "task", "difficulty", "seed", "steps", "wall_s", "kl_coef", "dash"]
COLUMNS = [*RUN_COLUMNS, "metric", "k", "value", "stderr"]
CURVE_COLUMNS = ["run", "algorithm", "model", "dataset", "seed", "step", "wall_s", "reward", "eval_pass1"]


@dataclass
class Runs:
    results: pd.DataFrame  # one row per run x dataset x metric x k (COLUMNS), base rows included
    curves: pd.DataFrame  # one row per run x training step (CURVE_COLUMNS)
    skipped: list[str]  # "path: reason" for every run dir that was not read


def find_run_dirs(roots: list[Path]) -> list[Path]:
    found = set()
    for root in roots:
        for config in root.rglob("config.yaml"):
            if not any(part.startswith(".") for part in config.relative_to(root).parts[:-1]):
                found.add(config.parent)
    return sorted(found)


def load_runs(roots: list[Path]) -> Runs:
    rows, curves, skipped = [], [], []
    for run_dir in find_run_dirs(roots):
        try:
            run_rows, run_curve = read_run(run_dir)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as error:
            reason = "no eval.json (incomplete run)" if isinstance(error, FileNotFoundError) else f"{type(error).__name__}: {error}"
            log.warning("skipping run dir %s: %s", run_dir, reason)
            skipped.append(f"{run_dir}: {reason}")
            continue
        rows += run_rows
        curves += run_curve
    results = pd.DataFrame(rows, columns=COLUMNS).astype({"k": "Int64", "seed": "int64"})
    return Runs(dedup_base_rows(results), pd.DataFrame(curves, columns=CURVE_COLUMNS), skipped)


def dedup_base_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Keep one run's base rows per (model, dataset, seed): every run of a cell re-evaluates the same start."""
    base = results[results.algorithm == "base"]
    first = base.groupby(["model", "dataset", "seed"]).run.transform("first")
    return pd.concat([results[results.algorithm != "base"], base[base.run == first]], ignore_index=True)


def read_run(run_dir: Path) -> tuple[list[dict], list[dict]]:
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    report = json.loads((run_dir / "eval.json").read_text())
    steps = read_metrics(run_dir / "metrics.jsonl")
    task = report["dataset"]
    difficulty = cfg["dataset"].get("difficulty", "") if task.endswith("_synth") else ""
    wall = sum(s.get("time/step", 0.0) for s in steps) or (run_dir / "eval.json").stat().st_mtime - (run_dir / "config.yaml").stat().st_mtime
    run = {
        "run": str(run_dir),
        "experiment": cfg.get("experiment", ""),
        "algorithm": label(report["algorithm"], cfg),
        "family": report["algorithm"],
        "model": cfg["model"].get("path") or cfg["model"]["name"],
        "dataset": f"{task}-{difficulty}" if difficulty not in ("", "easy") else task,
        "task": task,
        "difficulty": difficulty,
        "seed": int(report.get("seed", cfg["seed"])),
        "steps": int(cfg["train"]["steps"]),
        "wall_s": float(wall),
        "kl_coef": math.nan if cfg["algorithm"].get("kl_coef") is None else float(cfg["algorithm"]["kl_coef"]),
        "dash": "+".join(dash_options(cfg)),
    }
    base_run = {**run, "algorithm": "base", "family": "base", "steps": 0, "wall_s": 0.0, "kl_coef": math.nan, "dash": ""}
    rows = metric_rows(run, report["results"][task]) + metric_rows(base_run, (report.get("base_results") or {}).get(task, {}))
    return rows, curve_rows(run, steps, report["results"][task])


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def metric_rows(run: dict, metrics: dict[str, float]) -> list[dict]:
    rows = []
    for name, value in metrics.items():
        if name.endswith("_stderr"):
            continue
        metric, _, k = name.partition("@")
        rows.append({**run, "metric": metric, "k": int(k) if k else None, "value": float(value), "stderr": float(metrics.get(f"{name}_stderr", math.nan))})
    return rows


def curve_rows(run: dict, steps: list[dict], final: dict[str, float]) -> list[dict]:
    """Reward and mid-training pass@1 per step; wall = cumulative training time (time/step, evaluation excluded).

    The final evaluation (eval.json) closes the pass@1 curve at the last step when
    mid-training evaluations were logged: without it a run that reaches the target
    only at the end would read as never reaching it.
    """
    key = f"eval/{run['task']}/pass@1"
    logged = any(key in s for s in steps)
    rows, wall = [], 0.0
    for i, s in enumerate(steps):
        wall += s.get("time/step", 0.0)
        eval_pass1 = s.get(key, final["pass@1"] if logged and i == len(steps) - 1 else math.nan)
        rows.append({c: run[c] for c in ("run", "algorithm", "model", "dataset", "seed")} | {
            "step": s["step"], "wall_s": wall, "reward": s.get("rollout/reward_mean", math.nan), "eval_pass1": eval_pass1,
        })
    return rows


def label(name: str, cfg: dict[str, Any]) -> str:
    """The algorithm as chosen, plus every algorithm field that differs from its preset, plus the DASH suffix.

    Runs that changed a knob (say `algorithm.kl_coef=0`) are a different row, never
    averaged into the preset's: `grpo[kl_coef=0.0]`, `grpo+dash`, `grpo+sequential`.
    """
    preset = load_preset(name)
    changed = [f"{k}={v}" for k, v in cfg["algorithm"].items() if k != "name" and k in preset and v != preset[k]]
    return name + (f"[{','.join(changed)}]" if changed else "") + DASH_SUFFIX[dash_options(cfg)]


@functools.cache
def load_preset(name: str) -> dict[str, Any]:
    path = PRESETS / f"{name}.yaml"
    preset = yaml.safe_load(path.read_text()) if path.exists() else {}
    return {k: v for k, v in preset.items() if k != "defaults"}


def dash_options(cfg: dict[str, Any]) -> tuple[str, ...]:
    """Which DASH options the run used: preemptive sampling (rollout.preemptive), gradient filtering (train.grad_filter_tau)."""
    preemptive = bool(cfg.get("rollout", {}).get("preemptive", True))
    filtering = cfg.get("train", {}).get("grad_filter_tau") is not None
    return tuple(name for name, on in (("preemptive", preemptive), ("filter", filtering)) if on)
