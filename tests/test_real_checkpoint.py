"""A real Hugging Face checkpoint (the Qwen2 fixture) through the whole CLI and the runner."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.app import compose_config
from bench.runner import scratch_runner
from tests.cli_helpers import REPO, bench_env
from tests.qwen_checkpoint import FIXTURES

REAL = [
    "model=hf", "dataset=gsm8k", f"dataset.path={FIXTURES / 'gsm8k'}", "device=cpu",
    "train.steps=2", "rollout.prompts_per_step=2", "rollout.n=4", "rollout.max_new_tokens=16",
    "train.micro_batch_size=4", "eval.n=4", "eval.problems=3",
]


def test_a_real_checkpoint_trains_and_evaluates_end_to_end_from_the_cli(qwen_checkpoint, tmp_path):
    command = [sys.executable, "-m", "bench", *REAL, f"model.path={qwen_checkpoint}", f"hydra.run.dir={tmp_path}"]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "eval.json").read_text())
    assert {"pass@1", "pass@4", "maj@4"} <= report["results"]["gsm8k"].keys()
    steps = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"step"' in line]
    assert [m["step"] for m in steps][-2:] == [1, 2]
    assert (tmp_path / "results_lm_eval.json").exists()


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_gradient_checkpointing_gives_the_plain_first_step_loss(qwen_checkpoint, algorithm):
    """transformers drops the KV cache under checkpointing, so the log-probs (and PPO's values)
    take one forward per full sequence there: the same numbers as the shared-prompt path."""
    def first_step(*extra: str) -> dict[str, float]:
        cfg = compose_config([*REAL, f"model.path={qwen_checkpoint}", f"algorithm={algorithm}", "algorithm.kl_coef=0.01", *extra])
        return scratch_runner(cfg).step(0)

    plain, checkpointed = first_step(), first_step("model.gradient_checkpointing=true")
    losses = sorted(k for k in plain if k.startswith("loss/"))
    assert losses and losses == sorted(k for k in checkpointed if k.startswith("loss/"))
    for key in losses:
        assert checkpointed[key] == pytest.approx(plain[key], abs=1e-3), key
