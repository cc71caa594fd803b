"""Hand-made run dirs (config.yaml, eval.json, metrics.jsonl) in the real schema, for report tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bench.report.load import load_preset

DATASET = "gsm8k_synth"


def metrics_dict(passk: dict[int, tuple[float, float]]) -> dict[str, float]:
    """{k: (value, stderr)} -> eval.json's flat {"pass@k": v, "pass@k_stderr": se}."""
    out = {}
    for k, (value, stderr) in passk.items():
        out[f"pass@{k}"], out[f"pass@{k}_stderr"] = value, stderr
    return out


def write_run(
    root: Path,
    algorithm: str,
    seed: int,
    passk: dict[int, tuple[float, float]],
    base: dict[int, tuple[float, float]] | None = None,
    steps: list[dict] | None = None,
    difficulty: str = "easy",
    algorithm_cfg: dict | None = None,
    rollout_cfg: dict | None = None,
    train_cfg: dict | None = None,
) -> Path:
    """One complete run dir named <algorithm>-<difficulty>-s<seed>; returns it."""
    run = root / f"{algorithm}-{difficulty}-s{seed}"
    run.mkdir(parents=True)
    config = {
        "algorithm": {**load_preset(algorithm), **(algorithm_cfg or {})},
        "model": {"name": "tiny", "path": None},
        "dataset": {"name": DATASET, "difficulty": difficulty},
        "rollout": {"preemptive": True, **(rollout_cfg or {})},
        "train": {"steps": len(steps or []) or 2, "grad_filter_tau": None, **(train_cfg or {})},
        "seed": seed,
        "experiment": "hand",
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "metrics.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps or []))
    ks = sorted(passk)
    report = {
        "algorithm": algorithm, "dataset": DATASET, "seed": seed,
        "results": {DATASET: metrics_dict(passk)},
        "base_results": {DATASET: metrics_dict(base)} if base else None,
        "n": max(ks), "k": ks, "n-problems": 10, "config": config,
    }
    (run / "eval.json").write_text(json.dumps(report))
    return run
