"""ReLIFT (Ma et al. 2025, "Learning What Reinforcement Learning Can't: Interleaved
Online Fine-Tuning for Hardest Questions").

RL learns what the model can already sample; SFT teaches what it cannot. Each
step runs Dr. GRPO-style RL (A = r - mean_g; as in the reference main script
examples/math-7b/train.sh: no ratio clipping, token sums over a constant length,
no KL, entropy bonus 0.001, grad clip 0.7, AdamW weight decay 0.01). Questions
whose n rollouts all fail are the hardest: each goes with its demonstration into
a buffer, newest first (relift/verl/verl/relift/trainer.py concatenates the new
batch before the old buffer and trains on the first `sft_data_size`). Once the
buffer holds `sft_batch` (128 in the paper), one SFT step (one optimizer step, a
separate AdamW: wd 0.01, grad clip 1.0, token-mean NLL minus 0.001 entropy)
trains on the newest `sft_batch`, which leave the buffer; then RL continues.
Demonstrations are the dataset's reference solutions.

Departures from the paper and its reference code (TheRoadQaQ/ReLIFT):
1. `sft_batch` defaults to 32, not 128, to suit the tiny CPU setting (the
   buffer fills from a few prompts per step); set 128 to match the paper.
2. A question id is in the buffer at most once: while it waits, failing again does
   not add a copy. After its SFT step it may enter again if it later fails all
   rollouts (in the reference code each step's questions get fresh ids, so a
   question can re-enter in a later epoch; within an epoch it is seen once).
3. `sft_lr` defaults to the RL lr (`train.lr`); the paper uses 1e-6 for both.
4. The SFT step runs after the same step's RL update (the reference order); its
   logits are not divided by the rollout temperature (the reference divides by it,
   1.0 in the paper, so the two agree there).
5. The RL loss averages the per-sequence token sums / max_new_tokens over the
   mini-batch's sequences; the reference (relift/verl/verl/relift/core_algos.py
   `compute_policy_loss` with `loss_remove_token_mean`) sums them per
   micro-batch of a rank, so its gradient is larger by the sequences per rank (64
   in train.sh). AdamW's step does not depend on that constant, but the 0.7 clip
   does: on our scale it clips less often than the reference's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from algorithms import sharding
from algorithms.advantages import any_rewarded
from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch
from algorithms.configs import ReLIFTConfig
from algorithms.context import TrainContext, clip_and_step, make_optimizer
from algorithms.grpo import pg_settings
from algorithms.policy_gradient import PolicyGradient
from algorithms.registry import ADVANTAGES, register_algorithm
from algorithms.sft import demo_batch, nll_backward
from evaluators.types import Example


@dataclass
class DemoBuffer:
    """Hardest questions waiting for SFT, newest first; an id is in it at most once."""

    items: list[Example] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def push(self, examples: list[Example]) -> None:
        """Put `examples` (this step's, kept in batch order) before the older ones, skipping ids already waiting."""
        waiting = {e.id for e in self.items}
        fresh = []
        for example in examples:
            if example.id not in waiting:
                fresh.append(example)
                waiting.add(example.id)
        self.items = fresh + self.items

    def pop(self, count: int) -> list[Example]:
        """Remove and return the newest `count` items."""
        taken, self.items = self.items[:count], self.items[count:]
        return taken


def rl_context(config: ReLIFTConfig, ctx: TrainContext) -> TrainContext:
    """`ctx` with the RL optimizer's grad clip and weight decay taken from the config where it sets them."""
    settings = ctx.settings
    if config.grad_clip is not None:
        settings = replace(settings, grad_clip=config.grad_clip)
    if config.weight_decay is not None:
        settings = replace(settings, weight_decay=config.weight_decay)
    return replace(ctx, settings=settings)


@register_algorithm("relift")
class ReLIFT(Algorithm):
    needs_demos = True

    def __init__(self, config: ReLIFTConfig, ctx: TrainContext) -> None:
        self.config, self.ctx = config, ctx
        self.advantage = ADVANTAGES.get("dr_grpo")
        self.pg = PolicyGradient(rl_context(config, ctx), pg_settings(config, config.policy_loss))
        sft_lr = config.sft_lr if config.sft_lr is not None else ctx.settings.lr
        self.sft_optimizer, self.sft_scheduler = make_optimizer(self.pg.params, sft_lr, config.sft_weight_decay, 0)
        self.buffer = DemoBuffer()
        self.sft_steps = 0
        self.demos_used = 0  # demonstrations trained on, repeats counted
        self.seen: set[str] = set()  # distinct questions RL has trained on
        self.used: set[str] = set()  # distinct questions whose demonstration SFT has trained on

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        advantages = self.advantage(rollouts.rewards, rollouts.group_ids)
        metrics = self.pg.update(rollouts, advantages, torch.ones_like(rollouts.rewards, dtype=torch.bool))
        failed = ~any_rewarded(rollouts.rewards, rollouts.group_ids, len(examples))
        self.buffer.push([e for e, hard in zip(examples, failed.tolist()) if hard and e.demo])
        self.seen.update(e.id for e in examples)
        if len(self.buffer) >= self.config.sft_batch:
            metrics.update(self.sft_step(self.buffer.pop(self.config.sft_batch)))
        metrics.update(
            {
                "train/hardest_frac": float(failed.float().mean()),
                "train/buffer_size": float(len(self.buffer)),
                "train/sft_steps": float(self.sft_steps),
                "train/demos_used": float(self.demos_used),
                "train/demos_used_frac": len(self.used) / len(self.seen),  # distinct demos trained on / distinct questions seen
            }
        )
        return metrics

    def sft_step(self, items: list[Example]) -> dict[str, float]:
        """One optimizer step of the separate SFT AdamW on the demonstrations of `items`."""
        c, micro = self.config, self.ctx.settings.micro_batch_size
        parallel = self.ctx.parallel
        metrics = nll_backward(self.ctx.model, demo_batch(self.ctx, items), micro, entropy_coef=c.sft_entropy_coef, parallel=parallel)
        metrics["train/sft_grad_norm"] = clip_and_step(self.ctx.model, self.pg.params, self.sft_optimizer, self.sft_scheduler, c.sft_grad_clip, parallel)
        self.sft_steps += 1
        self.demos_used += len(items)
        self.used.update(e.id for e in items)
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.pg.state_dict(),
            "sft_optimizer": self.sft_optimizer.state_dict(),
            "sft_scheduler": self.sft_scheduler.state_dict(),
            "buffer": [asdict(e) for e in self.buffer.items],  # whole records: the SFT step re-formats their prompts
            "sft_steps": self.sft_steps,
            "demos_used": self.demos_used,
            "seen": sorted(self.seen),
            "used": sorted(self.used),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pg.load_state_dict(state["policy"])
        sharding.load_optimizer(self.sft_optimizer, state["sft_optimizer"])
        self.sft_scheduler.load_state_dict(state["sft_scheduler"])
        self.buffer = DemoBuffer([Example(**record) for record in state["buffer"]])
        self.sft_steps, self.demos_used = state["sft_steps"], state["demos_used"]
        self.seen, self.used = set(state["seen"]), set(state["used"])
