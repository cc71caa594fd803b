"""What every algorithm is built from: the policy, its tokenizer and the training knobs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.distributed.tensor import DTensor

from algorithms import sharding
from algorithms.parallel import SINGLE, Parallel


@dataclass(frozen=True)
class TrainSettings:
    """The runner's `train.*` and `rollout.*` values that shape an update."""

    lr: float
    weight_decay: float
    grad_clip: float
    warmup_steps: int
    micro_batch_size: int  # sequences per forward/backward
    mini_batch_prompts: int  # prompts per optimizer step
    temperature: float  # rollout sampling temperature
    max_new_tokens: int  # constant length normaliser of Dr. GRPO
    steps: int  # planned rollout steps (for schedules)
    grad_filter_tau: float | None = None  # DASH gradient filtering: drop samples with |A| <= tau (None = off)


@dataclass
class TrainContext:
    model: torch.nn.Module
    tokenizer: Any
    task: Any  # evaluators Task: prompts, demonstrations, scorer
    settings: TrainSettings
    device: torch.device
    parallel: Parallel = SINGLE  # the run's processes: which rows this one trains, and the sums over them


def make_optimizer(
    params, lr: float, weight_decay: float, warmup_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with linear warmup to a constant rate (the papers' constant-lr setting)."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warmup = max(warmup_steps, 0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / (warmup + 1)))
    return optimizer, scheduler


def clip_and_step(
    model: torch.nn.Module, params, optimizer: torch.optim.Optimizer, scheduler, grad_clip: float, parallel: Parallel = SINGLE
) -> float:
    """Sum the gradients of `params` (of `model`) over processes, clip, step, zero; returns the pre-clip
    grad norm. A non-finite norm raises before stepping."""
    if sharding.is_sharded(model):
        sharding.reduce_gradients(model)
    else:
        parallel.sum_gradients(list(params))
    params = [p for p in params if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip > 0 else math.inf)
    norm = float(norm.full_tensor() if isinstance(norm, DTensor) else norm)
    if not math.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        raise FloatingPointError(f"non-finite gradient norm ({norm}); parameters left unchanged")
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    sharding.after_step(model)
    return norm
