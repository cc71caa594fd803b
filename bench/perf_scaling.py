"""bench.perf's `scaling` section: one training step's wall time on 1 and N processes, same global batch.

Each row is a real `torchrun -m bench` run (rank 0's `time/step` includes waiting on the other
processes); the first step (warm-up) is left out of the median. On the CPU each process gets one
thread, so the ratio shows what splitting the batch buys, not what extra threads would; on GPUs
each process gets one device.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

# only training is timed: evaluation as small as the CLI allows, no checkpoints in between
QUIET_EVAL = ["eval.base=false", "eval.problems=8", "eval.n=4", "eval.k=[1]", "train.save_every=0", "train.eval_every=0"]


def step_seconds(overrides: list[str], processes: int, steps: int, device: torch.device) -> list[float]:
    """`time/step` of each step after the first, from a fresh run on `processes` processes."""
    threads = ["threads=1"] if device.type == "cpu" else []
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m", "bench",
            *overrides, *QUIET_EVAL, *threads, f"train.steps={steps}", f"hydra.run.dir={out}",
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"scaling run on {processes} processes failed:\n{result.stderr[-3000:]}")
        rows = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    return [row["time/step"] for row in rows if "time/step" in row][1:]


def scaling_rows(overrides: list[str], device: torch.device, steps: int) -> list[dict]:
    """Rows for 1 process and for every CUDA device (2 processes on the CPU), replicated and sharded
    (`sharding=fsdp`), with ratios to 1 process."""
    gpus = torch.cuda.device_count()
    counts = ([1, gpus] if gpus > 1 else [1]) if device.type == "cuda" else [1, 2]
    runs = [(n, "none") for n in counts] + [(n, "fsdp") for n in counts if n > 1]
    rows = []
    for processes, sharding in runs:
        seconds = statistics.median(step_seconds([*overrides, f"sharding={sharding}"], processes, steps, device))
        name = f"{processes} process{'es' if processes > 1 else ''}" + (", fsdp" if sharding == "fsdp" else "")
        rows.append({"section": "scaling", "name": name, "seconds": seconds})
    for row in rows:
        row["ratio"] = row["seconds"] / rows[0]["seconds"]
    return rows
