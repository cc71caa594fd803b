"""Run the real `python -m bench` CLI in a subprocess and read what a run left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.conftest import SMOKE

REPO = Path(__file__).resolve().parent.parent
TIME_FIELDS = ("time/",)  # wall-clock fields differ between identical runs


def bench_env(**extra: str) -> dict[str, str]:
    """The test env (private base cache), the repo importable from any cwd, one thread per process."""
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **extra}


def bench_command(*overrides: str, multirun: bool = False) -> list[str]:
    return [sys.executable, "-m", "bench", *(["--multirun"] if multirun else []), *SMOKE, *overrides]


def bench(*overrides: str, multirun: bool = False, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    command = bench_command(*overrides, multirun=multirun)
    return subprocess.run(command, cwd=cwd, env=bench_env(**env), capture_output=True, text=True, timeout=600)


def metrics_rows(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the fields that measure time (time/*, */tokens_per_s)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if not k.startswith(TIME_FIELDS) and not k.endswith("tokens_per_s")} for row in rows]


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(checkpoint / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "final weights differ"
