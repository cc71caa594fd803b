"""Make the benchmark's runs (subprocesses of the real CLI) and read run dirs back.

A run dir is matched to its cell by eval.json's algorithm, dataset and seed, and
must have been made with the cell's settings: comparing a run of another size with
the baseline would be meaningless.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.regress.suite import CELLS, THREADS, Cell

log = logging.getLogger("bench.regress")
CELL_TIMEOUT_S = 1800
NUMERIC_PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "math-verify")


@dataclass(frozen=True)
class Run:
    path: Path
    cell: Cell
    report: dict[str, Any]  # its eval.json

    @property
    def metrics(self) -> dict[str, float]:
        return self.report["results"][self.cell.dataset]

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What must match for bit-exact reproduction: numeric packages, host, thread count."""
        versions = self.report.get("versions", {})
        return {
            "versions": {name: versions.get(name) for name in NUMERIC_PACKAGES},
            "host": self.report.get("host"),
            "device": self.report.get("device"),
        }

    def samples_bytes(self) -> bytes | None:
        path = self.path / "samples.jsonl"
        return path.read_bytes() if path.exists() else None


ABSENT = "<absent>"  # what `lookup` finds for a key the config lacks


def lookup(config: dict[str, Any], dotted: str) -> Any:
    """`config["eval"]["n"]` for `"eval.n"`."""
    for part in dotted.split("."):
        if not isinstance(config, dict) or part not in config:
            return ABSENT
        config = config[part]
    return config


def load_run(path: Path) -> Run:
    """The run in `path`, matched to its cell; ValueError if it is not a run of the benchmark."""
    eval_json = path / "eval.json"
    if not eval_json.exists():
        raise ValueError(f"{path}: no eval.json (the run did not finish)")
    report = json.loads(eval_json.read_text())
    key = (report.get("algorithm"), report.get("dataset"), report.get("seed"))
    cell = next((c for c in CELLS if (c.label, c.dataset, c.seed) == key), None)
    if cell is None:
        raise ValueError(f"{path}: algorithm/dataset/seed {key} is not a cell of the regression suite")
    config = report.get("config", {})
    wrong = {k: (lookup(config, k), v) for k, v in cell.settings.items() if lookup(config, k) != v}
    if wrong:
        details = ", ".join(f"{k}={got!r} (suite: {want!r})" for k, (got, want) in wrong.items())
        raise ValueError(f"{path}: not made with the suite's settings for {cell.id}: {details}")
    return Run(path, cell, report)


def build_base(cell: Cell) -> None:
    """Pre-train the shared base once, before the runs that all load it start in parallel."""
    import torch
    from bench.app import compose_config
    from bench.models import ensure_base_model
    from bench.regress.suite import override_value

    overrides = [f"{k}={override_value(v)}" for k, v in cell.settings.items()]
    cfg = compose_config(overrides)
    torch.set_num_threads(THREADS)
    ensure_base_model(cfg.model)


def run_cell(cell: Cell, out_root: Path) -> Path | None:
    """Run one cell into `out_root/<cell id>`; its output goes to `<cell id>.log`. None if it failed."""
    out_dir = out_root / cell.id
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
    start = time.perf_counter()
    with open(out_root / f"{cell.id}.log", "w") as output:
        try:
            code = subprocess.run(cell.command(out_dir), stdout=output, stderr=subprocess.STDOUT, env=env, timeout=CELL_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    log.info("%s: %s in %.0f s", cell.id, "done" if code == 0 else f"FAILED ({code})", time.perf_counter() - start)
    return out_dir if code == 0 else None


def run_suite(cells: list[Cell], out_root: Path, jobs: int) -> dict[Cell, Path | None]:
    """Run `cells` (`jobs` at a time, one thread each) after building their base."""
    out_root.mkdir(parents=True, exist_ok=True)
    log.info("building the base model (cached after the first time)")
    build_base(cells[0])
    log.info("running %d cells into %s, %d at a time", len(cells), out_root, jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(cells, pool.map(lambda cell: run_cell(cell, out_root), cells)))
