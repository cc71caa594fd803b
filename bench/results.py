"""Write a run's evaluation outputs: eval.json, results_lm_eval.json, samples.jsonl, the pass@k figure.

eval.json is written last and atomically, so its presence marks a complete run.
Its shape is close to lm-eval's results JSON (results, metric_stderr keys,
higher_is_better, config, git_hash, date) but `versions` holds package versions;
results_lm_eval.json says the same in lm-eval's own schema (bench/lm_eval_results.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from bench.evaluate import EvalResult
from bench.io import atomic_write_json, atomic_write_jsonl
from bench.lm_eval_results import lm_eval_results
from bench.plots import passk_figure
from bench.provenance import provenance
from bench.rollout import Sampling
from bench.tables import passk_table


def write_results(
    out_dir: Path,
    cfg: DictConfig,
    label: str,
    task,
    num_problems: int,
    split_size: int,
    ks: list[int],
    sampling: Sampling,
    seed: int,
    result: EvalResult,
    base: EvalResult | None,
    device: torch.device,
) -> dict:
    """Write the outputs of `result` (and `base`, the starting policy, if evaluated); return eval.json.

    `num_problems` of the test split's `split_size` problems were evaluated."""
    atomic_write_jsonl(out_dir / "samples.jsonl", result.samples)
    curves = {label: result.metrics} if base is None else {"base": base.metrics, label: result.metrics}
    passk_figure(curves, ks, f"{label} on {task.name}", out_dir / "passk")
    report = {
        "algorithm": label,
        "dataset": task.name,
        "prompt": cfg.dataset.prompt,  # the prompt preset (README "Prompt presets"): which published setup the numbers sit next to
        "seed": cfg.seed,
        "results": {task.name: result.metrics},
        "base_results": {task.name: base.metrics} if base else None,
        "higher_is_better": {task.name: {k: True for k in result.metrics if not k.endswith("_stderr")}},
        "task": {"name": task.name, "version": task.version, "skipped": getattr(task, "skipped", {})},
        "sampling": {"temperature": sampling.temperature, "top_p": sampling.top_p, "max_new_tokens": sampling.max_new_tokens, "seed": seed},
        "n": cfg.eval.n,
        "k": ks,
        "n-problems": num_problems,
        "config": OmegaConf.to_container(cfg, resolve=True),
        **provenance(device),
    }
    atomic_write_json(out_dir / "results_lm_eval.json", lm_eval_results(report, task, result.samples, split_size))
    atomic_write_json(out_dir / "eval.json", report)
    return report


def print_summary(label: str, task_name: str, num_problems: int, n: int, ks: list[int], result: EvalResult, base: EvalResult | None, out_dir: Path) -> None:
    columns = {"base": base.metrics, label: result.metrics} if base else {label: result.metrics}
    print(f"\n{label} on {task_name}: {num_problems} problems x {n} samples")
    print(passk_table(columns, ks, ("pass",)))
    print(f"\nresults: {out_dir}")
