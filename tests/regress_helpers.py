"""Shared by the bench.regress tests: hand-made runs and a throwaway copy of the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.regress.suite import Cell

REPO = Path(__file__).resolve().parents[1]
FOREIGN_FINGERPRINT = {"versions": {"torch": "0.0"}, "host": {"cpu": "elsewhere"}, "device": "cpu (x86_64, 1 threads)"}


def nested(settings: dict[str, Any]) -> dict[str, Any]:
    """`{"eval.n": 16}` -> `{"eval": {"n": 16}}`: the resolved config an eval.json carries."""
    config: dict[str, Any] = {}
    for dotted, value in settings.items():
        *parents, leaf = dotted.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def fake_run(
    root: Path,
    cell: Cell,
    baseline: dict[str, Any],
    values: dict[str, tuple[float, float]] | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> Path:
    """A finished run of `cell` whose eval.json repeats `baseline`, with `values` ({metric: (value, se)}) changed."""
    metrics = {}
    for name, ref in baseline["metrics"].items():
        metrics[name], metrics[f"{name}_stderr"] = (values or {}).get(name, (ref["value"], ref["stderr"]))
    fingerprint = fingerprint or FOREIGN_FINGERPRINT
    report = {
        "algorithm": cell.label,
        "dataset": cell.dataset,
        "seed": cell.seed,
        "results": {cell.dataset: metrics},
        "higher_is_better": {cell.dataset: {name: True for name in baseline["metrics"]}},
        "task": baseline["task"],
        "sampling": baseline["sampling"],
        "n": baseline["n"],
        "k": baseline["k"],
        "n-problems": baseline["n-problems"],
        "config": nested(cell.settings),
        "versions": fingerprint["versions"],
        "host": fingerprint["host"],
        "device": fingerprint["device"],
    }
    path = root / f"{cell.id}-{len(list(root.glob('*')))}"
    path.mkdir(parents=True)
    (path / "eval.json").write_text(json.dumps(report))
    return path


def copy_repo(dest: Path) -> Path:
    """The code, configs and baselines, without runs, caches or git: safe to break."""
    for name in ("bench", "algorithms", "evaluators", "conf"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "results" / "baselines", dest / "results" / "baselines")
    return dest


def patch(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}"
    path.write_text(text.replace(old, new))


def regress_in(repo: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m bench.regress ...` run from `repo`, importing that copy's code."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run([sys.executable, "-m", "bench.regress", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
