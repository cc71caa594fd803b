"""The committed reference numbers: results/baselines/<cell>.json, one per cell.

Each records the tracked metrics with their standard errors and direction, what
defines the evaluation (task version, n, k, problems, sampling, settings), where the
numbers came from (git hash, date, package versions, device, host), and whether
repeated runs reproduced them bit for bit (`deterministic`), which decides the rule
that compare.py applies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.io import atomic_write_json
from bench.resources import BASELINES_DIR
from bench.regress.runs import Run
from bench.regress.suite import METRICS, Cell

BASELINE_DIR = BASELINES_DIR
PROVENANCE = ("git_hash", "date", "versions", "device", "host")


def path_for(cell: Cell) -> Path:
    return BASELINE_DIR / f"{cell.id}.json"


def load(cell: Cell) -> dict[str, Any] | None:
    path = path_for(cell)
    return json.loads(path.read_text()) if path.exists() else None


def reproduced(runs: list[Run]) -> bool:
    """True when at least two runs agree exactly: every metric and every sampled completion."""
    first = runs[0]
    return len(runs) > 1 and all(r.metrics == first.metrics and r.samples_bytes() == first.samples_bytes() for r in runs[1:])


def from_runs(cell: Cell, runs: list[Run]) -> dict[str, Any]:
    """The baseline of `cell` from one or more runs of it (the first gives the numbers)."""
    run = runs[0]
    directions = run.report.get("higher_is_better", {}).get(cell.dataset, {})
    return {
        "cell": cell.id,
        "algorithm": cell.name,
        "dataset": cell.dataset,
        "seed": cell.seed,
        "settings": cell.settings,
        "metrics": {
            name: {"value": run.metrics[name], "stderr": run.metrics[f"{name}_stderr"], "higher_is_better": directions.get(name, True)}
            for name in METRICS
        },
        "deterministic": reproduced(runs),
        "repeats": len(runs),
        "fingerprint": run.fingerprint,
        "n": run.report["n"],
        "k": run.report["k"],
        "n-problems": run.report["n-problems"],
        "task": {k: v for k, v in run.report["task"].items() if k != "skipped"},
        "sampling": run.report["sampling"],
        **{key: run.report.get(key) for key in PROVENANCE},
    }


def write(baseline: dict[str, Any], cell: Cell) -> None:
    atomic_write_json(path_for(cell), baseline)


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What an update changes in one cell's baseline, one line each."""
    if old is None:
        return [f"{new['cell']}: new baseline"]
    lines = []
    for name, ref in new["metrics"].items():
        before = old["metrics"].get(name)
        if before is None or (before["value"], before["stderr"]) != (ref["value"], ref["stderr"]):
            was = "absent" if before is None else f"{before['value']:.4f} ± {before['stderr']:.4f}"
            lines.append(f"{new['cell']}/{name}: {was} -> {ref['value']:.4f} ± {ref['stderr']:.4f}")
    for key in ("deterministic", "fingerprint", "task", "n", "k", "n-problems", "sampling", "settings"):
        if old.get(key) != new.get(key):
            lines.append(f"{new['cell']}: {key} {old.get(key)} -> {new.get(key)}")
    return lines
