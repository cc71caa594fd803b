"""End-to-end CLI runs on every dataset kind: synthetic twins, and real schemas from fixture files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli_helpers import REPO, bench, bench_env
from tests.conftest import SMOKE

FIXTURES = REPO / "tests" / "fixtures"


def eval_report(run_dir) -> dict:
    return json.loads((run_dir / "eval.json").read_text())


@pytest.mark.parametrize("dataset", ["math_synth", pytest.param("hotpotqa_synth", marks=pytest.mark.slow)])  # slow: ~35 s; .ci/run runs it
def test_training_run_on_a_synthetic_twin(tmp_path, dataset):
    result = bench(f"dataset={dataset}", "algorithm.entropy_coef=0.01", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = eval_report(tmp_path)
    assert report["dataset"] == dataset and report["n-problems"] == 6
    assert (tmp_path / "checkpoints" / "step_000002").is_dir()


def test_training_run_on_gsm8k_fixture_files_reports_the_malformed_row(tmp_path):
    result = bench("dataset=gsm8k", f"dataset.path={FIXTURES / 'gsm8k'}", "eval.problems=3", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = eval_report(tmp_path)
    assert report["dataset"] == "gsm8k" and report["n-problems"] == 3
    assert report["task"]["skipped"]["test"], "the malformed fixture row must be reported by id"


@pytest.mark.parametrize("dataset, path", [("math", "math500/test.jsonl"), ("hotpotqa", "hotpotqa/validation.parquet")])
def test_eval_only_run_on_real_schema_fixtures(tmp_path, dataset, path):
    command = [sys.executable, "-m", "bench.eval", *SMOKE, f"dataset={dataset}", f"dataset.path={FIXTURES / path}",
               "eval.problems=2", f"hydra.run.dir={tmp_path}"]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = eval_report(tmp_path)
    assert report["dataset"] == dataset and report["base_results"] is None
    assert report["task"]["skipped"]["test"], "the malformed fixture row must be reported by id"
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 and all(len(s["completions"]) == 4 for s in samples)
