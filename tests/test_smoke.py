"""End-to-end runs of the real CLI on the tiny model: every output written, weights moved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import SMOKE

OUTPUTS = ["config.yaml", "metrics.jsonl", "eval.json", "results_lm_eval.json", "samples.jsonl", "passk.png", "passk.pdf"]


def run_cli(out_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *SMOKE, f"hydra.run.dir={out_dir}", *overrides],
        capture_output=True, text=True, timeout=600,
    )


def base_weights(out_dir: Path) -> dict[str, torch.Tensor]:
    config = (out_dir / "config.yaml").read_text()
    from bench.models import base_model_dir
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(config)
    return load_file(base_model_dir(cfg.model) / "model.safetensors")


# A 20-step base rarely earns reward, so GRPO's smoke run adds an entropy bonus: a
# gradient that does not depend on luck, through the same update path.
@pytest.mark.parametrize("algorithm, extra", [("grpo", ["algorithm.entropy_coef=0.01"]), ("sft", [])])
def test_cli_run_trains_and_writes_every_output(tmp_path, algorithm, extra):
    out = tmp_path / algorithm
    result = run_cli(out, f"algorithm={algorithm}", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    checkpoint = out / "checkpoints" / "step_000002"
    assert (checkpoint / "model.safetensors").exists() and (checkpoint / "trainer_state.pt").exists()

    trained = load_file(checkpoint / "model.safetensors")
    base = base_weights(out)
    assert any(not torch.equal(trained[k], base[k]) for k in base), "training left every parameter unchanged"

    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    report = json.loads((out / "eval.json").read_text())
    metrics = report["results"]["gsm8k_synth"]
    assert set(report["k"]) == {1, 2, 4} and report["n"] == 4 and report["n-problems"] == 6
    for k in report["k"]:
        assert 0.0 <= metrics[f"pass@{k}"] <= 1.0 and f"pass@{k}_stderr" in metrics
    assert report["base_results"]["gsm8k_synth"]["pass@1"] >= 0.0
    assert {"git_hash", "date", "versions", "device", "config"} <= report.keys()
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 and all(len(s["completions"]) == 4 for s in samples)
    assert "pass@1" in result.stdout  # the printed table


def test_typo_fails_before_any_work(tmp_path):
    out = tmp_path / "typo"
    result = run_cli(out, "train.stepz=3")
    assert result.returncode != 0
    assert "stepz" in result.stderr
    assert not (out / "eval.json").exists()
