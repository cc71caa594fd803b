"""bench.perf's `job` section: where one `python -m bench` job's wall time goes, phase by phase.

A real job in a subprocess, on a fresh base-model cache (so the tiny base is pre-trained, as on a
first run). Its status.json times the phases (bench/job.py); the training phase is split further
by the per-step `time/*` metrics, and what is left of it (logging, checkpoints, mid-training
evaluations) is its own row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP_PARTS = {"generate": "time/generate", "score": "time/score", "update": "time/update"}


def job_rows(overrides: list[str]) -> list[dict]:
    """Rows of seconds per phase of one job with `overrides`, each with its fraction of the process's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "bench", *overrides, f"hydra.run.dir={out}"]
        env = {**os.environ, "RLVR_BENCH_CACHE": str(Path(tmp) / "cache")}
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        process_s = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"the job failed:\n{result.stderr[-3000:]}")
        status = json.loads((out / "status.json").read_text())
        steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    phases = dict(status["phases_s"])
    train = phases.pop("train")
    split = {name: sum(row.get(key, 0.0) for row in steps) for name, key in STEP_PARTS.items()}
    seconds = {
        "build (pre-train base, load)": phases.pop("build"),
        "base eval": phases.pop("base eval", 0.0),
        **{f"train: {name}": value for name, value in split.items()},
        "train: logs, saves, evals": train - sum(split.values()),
        **phases,  # final eval, write
    }
    seconds["setup between phases"] = status["wall_s"] - sum(seconds.values())
    seconds["start, imports, config"] = process_s - status["wall_s"]
    return [{"section": "job", "name": name, "seconds": value, "ratio": value / process_s} for name, value in seconds.items()]
