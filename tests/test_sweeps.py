"""Multiruns through real Hydra launchers: layout, summary, failures, reruns, bad sweep values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import bench

JOBS = ("grpo-gsm8k_synth-s0", "sft-gsm8k_synth-s0")


def summary_rows(sweep: Path) -> dict[str, list[str]]:
    """job name -> [status, wall, pass@1, error] from summary.md's table (the totals line follows a blank line)."""
    table = (sweep / "summary.md").read_text().split("\n\n")[0]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {c[0]: c[1:] for c in cells}


def assert_complete(sweep: Path, jobs: tuple[str, ...]) -> None:
    for job in jobs:
        assert (sweep / job / "eval.json").exists(), job
    rows = summary_rows(sweep)
    assert set(rows) == set(jobs)
    assert all(row[0] == "complete" and row[2] != "-" for row in rows.values()), rows


@pytest.mark.slow  # ~25 s; .ci/run runs it (the fast suite launches through submitit_local)
def test_joblib_multirun_runs_jobs_in_parallel_processes_and_reruns_only_what_is_missing(tmp_path):
    # Run from a scratch cwd so the real layout results/runs/<experiment>/<sweep id>/<job> lands there.
    args = ["algorithm=grpo,sft", "sweep_id=s1"]
    result = bench(*args, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", multirun=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "results/runs/default/s1"
    assert_complete(sweep, JOBS)
    for job in JOBS:  # loky gave each of the two workers cores // 2 torch threads
        assert "torch: 1 threads" in (sweep / job / "app.log").read_text()

    # Both jobs start from the same base with the same evaluation: the sweep keeps one copy of it.
    (shared,) = (sweep / ".base_evals").iterdir()
    for job in JOBS:
        assert json.loads((sweep / job / "base_eval.json").read_text()) == json.loads(shared.read_text())

    # A job whose outputs are gone is redone, reading the shared base evaluation; the complete one
    # is skipped (basic launcher: in-process, in order).
    done = (sweep / JOBS[0] / "eval.json").stat().st_mtime_ns
    shutil.rmtree(sweep / JOBS[1])
    rerun = bench(*args, "resume=auto", multirun=True, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (sweep / JOBS[0] / "eval.json").stat().st_mtime_ns == done
    assert "is complete (eval.json exists); skipping it" in (sweep / JOBS[0] / "app.log").read_text()
    assert f"base evaluation read from {shared}" in (sweep / JOBS[1] / "app.log").read_text()
    assert_complete(sweep, JOBS)


def test_submitit_local_multirun_completes_every_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = bench("algorithm=grpo,sft", "threads=1", f"hydra.sweep.dir={sweep}", "hydra/launcher=submitit_local", multirun=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_complete(sweep, JOBS)
    assert (sweep / ".submitit").is_dir()  # the jobs really ran through submitit


def test_a_failing_job_is_marked_failed_and_the_others_finish(tmp_path):
    # lr=1e30 is finite for one step, then the weights overflow and the loss turns NaN.
    sweep = tmp_path / "sweep"
    result = bench(
        "algorithm=sft", "train.steps=3", "train.lr=1e30,1e-3", f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=lr${train.lr}", multirun=True,
    )
    assert result.returncode != 0
    assert "1 of 2 jobs did not complete (lr1e+30)" in result.stderr
    rows = summary_rows(sweep)
    assert rows["lr1e+30"][0] == "failed" and "non-finite" in rows["lr1e+30"][3]
    assert rows["lr0.001"][0] == "complete"
    wall = sum(json.loads((sweep / job / "status.json").read_text())["wall_s"] for job in rows)
    assert f"2 jobs: 1 complete, 1 failed; job wall time {wall / 3600:.2f} h in total" in (sweep / "summary.md").read_text()
    assert json.loads((sweep / "lr1e+30" / "status.json").read_text())["status"] == "failed"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["algorithm=grpo,nope"], "Could not find 'algorithm/nope'"),
        (["algorithm=grpo,sft", "eval.k=[1,8]"], "eval.k values [8]"),
        (["train.lr=1e-3,1e-4"], "would share"),  # two jobs, one default job name
    ],
)
def test_a_bad_sweep_fails_before_any_job_starts(tmp_path, overrides, message):
    result = bench(*overrides, multirun=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "sweep not launched" in result.stderr and message in result.stderr
    assert not (tmp_path / "results").exists()  # not even the sweep dir
