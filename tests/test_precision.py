"""fp32 master weights under bf16 compute: RL learning rates still move the weights."""

from __future__ import annotations

import contextlib

import torch

from algorithms.context import TrainContext, TrainSettings
from algorithms.precision import compute_autocast, compute_dtype, set_compute_dtype
from algorithms.sft import SFT, SFTConfig
from bench.config import ModelConfig
from bench.models import load_policy
from evaluators.tasks import get_task
from tests.qwen_checkpoint import FIXTURES


def test_bf16_compute_at_lr_1e6_changes_most_parameters_in_three_steps(qwen_checkpoint):
    model, tokenizer = load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="bfloat16"), torch.device("cpu"))
    assert next(model.parameters()).dtype == torch.float32 and compute_dtype(model) == torch.bfloat16
    with compute_autocast(model):
        assert model(input_ids=torch.tensor([[1, 2, 3]])).logits.dtype == torch.bfloat16  # the forward computes in bf16
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"))
    settings = TrainSettings(
        lr=1e-6, weight_decay=0.0, grad_clip=1.0, warmup_steps=0, micro_batch_size=4,
        mini_batch_prompts=2, temperature=1.0, max_new_tokens=16, steps=3,
    )
    sft = SFT(SFTConfig(), TrainContext(model, tokenizer, task, settings, torch.device("cpu")))
    before = [p.detach().clone() for p in model.parameters()]
    examples = task.load("train")
    for _ in range(3):
        sft.update(examples, None)
    changed = sum(int((p.detach() != b).sum()) for p, b in zip(model.parameters(), before))
    total = sum(b.numel() for b in before)
    # bf16 weights (the old load) change ~2% of entries here: 1e-6 is below half an ulp of most of them
    assert changed >= 0.5 * total, f"{changed}/{total} entries changed"


def test_pure_low_precision_is_an_explicit_opt_in(qwen_checkpoint):
    model, _ = load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="bfloat16", pure_low_precision=True), torch.device("cpu"))
    assert next(model.parameters()).dtype == torch.bfloat16


def test_autocast_only_below_the_weights_precision_and_to_the_set_dtype():
    layer = torch.nn.Linear(2, 2)
    assert isinstance(compute_autocast(layer), contextlib.nullcontext)  # fp32 compute on fp32 weights: no autocast
    set_compute_dtype(layer, torch.float16)
    assert compute_autocast(layer).fast_dtype == torch.float16  # the set dtype, not the device's default (bf16 on CPU)
    shapes_only = torch.nn.Linear(2, 2, device="meta")
    set_compute_dtype(shapes_only, torch.bfloat16)
    assert isinstance(compute_autocast(shapes_only), contextlib.nullcontext)  # meta weights: nothing to autocast
