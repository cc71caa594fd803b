"""One training step of every algorithm on CUDA, at Qwen2.5-0.5B's shapes (initialised from its
config: no download), through the shared runner; and one with vLLM rollouts where vLLM installs.
Skipped without CUDA; `pytest -m gpu` selects them."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from bench.app import compose_config
from bench.runner import scratch_runner
from tests.qwen_checkpoint import FIXTURES, QWEN25_05B_SHAPE, build_qwen_checkpoint

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
ALGORITHMS = ["sft", "grpo", "dr_grpo", "dapo", "ppo", "psr", "nsr", "w_reinforce", "relift", "superrl"]


@pytest.fixture(scope="module")
def qwen05b_shaped(tmp_path_factory):
    return build_qwen_checkpoint(tmp_path_factory.mktemp("qwen05b-shaped"), **QWEN25_05B_SHAPE)


def one_step(checkpoint, *overrides: str) -> tuple[dict[str, float], object]:
    cfg = compose_config([
        "model=hf", f"model.path={checkpoint}", "dataset=gsm8k", f"dataset.path={FIXTURES / 'gsm8k'}", "device=cuda",
        "train.steps=1", "rollout.prompts_per_step=2", "rollout.n=4", "rollout.max_new_tokens=64",
        "train.micro_batch_size=4", "eval.n=2", "eval.problems=2", *overrides,
    ])
    runner = scratch_runner(cfg)
    return runner.step(0), runner


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_step_of_every_algorithm_on_cuda(qwen05b_shaped, algorithm):
    metrics, runner = one_step(qwen05b_shaped, f"algorithm={algorithm}", "model.gradient_checkpointing=true")
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    assert {p.device.type for p in runner.session.model.parameters()} == {"cuda"}
    assert {p.dtype for p in runner.session.model.parameters()} == {torch.float32}  # fp32 master weights under bf16 compute


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs the [vllm] extra")
def test_one_grpo_step_with_vllm_rollouts(qwen05b_shaped):
    metrics, _ = one_step(qwen05b_shaped, "algorithm=grpo", "rollout=vllm", "rollout.gpu_memory_utilization=0.3")
    assert all(math.isfinite(v) for v in metrics.values()), metrics
