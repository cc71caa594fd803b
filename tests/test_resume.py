"""Determinism, kill-and-resume, and divergence, on real CLI runs of the tiny model."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import REPO, assert_same_weights, bench, bench_command, bench_env, metrics_rows, weights

# Six steps, a checkpoint after each; the entropy bonus moves the weights even when no rollout is rewarded.
TRAIN = ["algorithm=grpo", "algorithm.entropy_coef=0.01", "train.steps=6", "train.save_every=1", "train.keep_checkpoints=2"]
FINAL = "checkpoints/step_000006"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "uninterrupted"
    result = bench(*TRAIN, f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_same_seed_gives_identical_metrics(uninterrupted, tmp_path):
    again = tmp_path / "again"
    result = bench(*TRAIN, f"hydra.run.dir={again}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics_rows(again) == metrics_rows(uninterrupted)
    assert_same_weights(again / FINAL, uninterrupted / FINAL)


def test_a_killed_run_resumes_to_the_same_result(uninterrupted, tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen(bench_command(*TRAIN, f"hydra.run.dir={out}"), cwd=REPO, env=bench_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    # status.json first appears after step 1 (its checkpoint is saved before): the try's wall time so far
    while not (out / "status.json").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "eval.json").exists(), "the run finished before it could be killed"
    killed_at = len(metrics_rows(out))
    killed = json.loads((out / "status.json").read_text())
    assert killed["status"] == "running" and killed["wall_s"] > 0

    result = bench(*TRAIN, f"hydra.run.dir={out}", "resume=auto")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (out / "app.log").read_text()
    steps = [row["step"] for row in metrics_rows(out)]
    assert steps == [1, 2, 3, 4, 5, 6], f"killed after {killed_at} steps, then {steps}"
    assert metrics_rows(out) == metrics_rows(uninterrupted)
    assert_same_weights(out / FINAL, uninterrupted / FINAL)
    finished = json.loads((out / "status.json").read_text())
    assert finished["status"] == "complete" and finished["wall_s"] > killed["wall_s"]  # the killed try's time counts
    eval_a, eval_b = (json.loads((d / "eval.json").read_text()) for d in (out, uninterrupted))
    assert (eval_a["results"], eval_a["base_results"]) == (eval_b["results"], eval_b["base_results"])
    assert len(list((out / "checkpoints").iterdir())) == 2  # train.keep_checkpoints, no staging dirs left


def test_resume_auto_skips_a_complete_run_and_resume_never_refuses_to_overwrite_it(uninterrupted):
    before = (uninterrupted / "eval.json").stat().st_mtime_ns
    skipped = bench(*TRAIN, f"hydra.run.dir={uninterrupted}", "resume=auto")
    assert skipped.returncode == 0 and "skipping it" in (uninterrupted / "app.log").read_text()
    refused = bench(*TRAIN, f"hydra.run.dir={uninterrupted}")
    assert refused.returncode != 0 and "already holds a run" in refused.stdout + refused.stderr
    assert (uninterrupted / "eval.json").stat().st_mtime_ns == before
    assert json.loads((uninterrupted / "status.json").read_text())["status"] == "complete"


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    # SFT at lr=1e30: step 1 is finite, its update overflows the weights, step 2's loss is NaN.
    out = tmp_path / "nan"
    result = bench("algorithm=sft", "train.lr=1e30", "train.steps=4", "train.save_every=1", f"hydra.run.dir={out}")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "training diverged at step 2" in output and "step_000001" in output and "Traceback" not in output
    assert not (out / "eval.json").exists()
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step_000001"]
    assert all(torch.isfinite(t).all() for t in weights(out / "checkpoints/step_000001").values())
    assert [row["step"] for row in metrics_rows(out)] == [1]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", sorted(p.stem for p in (REPO / "conf/algorithm").glob("*.yaml")))
def test_every_algorithm_resumes_to_the_same_result(tmp_path, algorithm):
    """Resume from step 2 of a finished 4-step run (its later outputs removed): every algorithm's state round-trips."""
    args = [f"algorithm={algorithm}", "train.steps=4", "train.save_every=1", "train.keep_checkpoints=4"]
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    result = bench(*args, f"hydra.run.dir={full}")
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.copytree(full, resumed)
    for name in ("eval.json", "checkpoints/step_000003", "checkpoints/step_000004"):
        shutil.rmtree(resumed / name) if (resumed / name).is_dir() else (resumed / name).unlink()
    result = bench(*args, f"hydra.run.dir={resumed}", "resume=auto")
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics_rows(resumed) == metrics_rows(full)
    assert_same_weights(resumed / "checkpoints/step_000004", full / "checkpoints/step_000004")
