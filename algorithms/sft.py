"""SFT: token-mean negative log-likelihood of each problem's demonstration.

The supervised baseline of every comparison, and the SFT step ReLIFT and SuperRL
reuse (`demo_batch`, `nll_backward`). It reads no rollouts.
Departures: none (plain teacher forcing on prompt -> demo + eos).
"""

from __future__ import annotations

from typing import Any

import torch

from algorithms import sharding
from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch, SequenceBatch, tokenize_demos
from algorithms.configs import SFTConfig
from algorithms.context import TrainContext, clip_and_step, make_optimizer
from algorithms.logprobs import target_logprobs
from algorithms.losses import agg_loss
from algorithms.parallel import SINGLE, Parallel
from algorithms.registry import register_algorithm
from evaluators.types import Example


def demo_batch(ctx: TrainContext, examples: list[Example]) -> SequenceBatch:
    """Prompt + demonstration sequences of `examples`, loss on the demonstration."""
    prompts = [ctx.task.format_prompt(e, ctx.tokenizer) for e in examples]
    demos = [ctx.task.format_demo(e) for e in examples]
    return tokenize_demos(ctx.tokenizer, prompts, demos, ctx.device)


def nll_backward(
    model: torch.nn.Module, batch: SequenceBatch, micro_batch_size: int, weight: float = 1.0, entropy_coef: float = 0.0,
    parallel: Parallel = SINGLE,
) -> dict[str, float]:
    """Accumulate grads of `weight * (token-mean NLL - entropy_coef * entropy)` over this process's
    micro-batches; the mean is over every process's tokens and the returned total is summed over them."""
    num_tokens = batch.target_mask.sum().clamp(min=1.0)
    nll_total = 0.0
    for micro in parallel.micro_batches(torch.arange(len(batch), device=batch.input_ids.device), micro_batch_size):
        part = batch.select(micro)
        logp, entropy = target_logprobs(model, part, with_entropy=entropy_coef > 0)
        nll = agg_loss(-logp, part.target_mask, "token_mean", num_tokens=num_tokens)
        loss = nll - entropy_coef * agg_loss(entropy, part.target_mask, "token_mean", num_tokens=num_tokens) if entropy_coef else nll
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite SFT loss ({float(loss.detach())})")
        (weight * loss).backward()
        nll_total += float(nll.detach())
    return parallel.sum({"loss/sft": nll_total})


@register_algorithm("sft")
class SFT(Algorithm):
    needs_rollouts = False
    needs_demos = True

    def __init__(self, config: SFTConfig, ctx: TrainContext) -> None:
        self.config, self.ctx = config, ctx
        self.params = [p for p in ctx.model.parameters() if p.requires_grad]
        s = ctx.settings
        self.optimizer, self.scheduler = make_optimizer(self.params, s.lr, s.weight_decay, s.warmup_steps)

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        batch = demo_batch(self.ctx, examples)
        parallel = self.ctx.parallel
        metrics = nll_backward(self.ctx.model, batch, self.ctx.settings.micro_batch_size, entropy_coef=self.config.entropy_coef, parallel=parallel)
        metrics["train/grad_norm"] = clip_and_step(self.ctx.model, self.params, self.optimizer, self.scheduler, self.ctx.settings.grad_clip, parallel)
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sharding.load_optimizer(self.optimizer, state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
