"""The shared policy-gradient update every RL algorithm composes.

An algorithm supplies one advantage per sample (or per token) and which samples to keep; this
module runs `ppo_epochs` passes over mini-batches of prompts, accumulates the
clipped-surrogate (+ KL, - entropy) loss over micro-batches, and steps the
optimizer once per mini-batch. Old log-probs are recomputed before the first
update, so later mini-batches and epochs are true off-policy importance ratios.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from algorithms import sharding
from algorithms.batch import RolloutBatch
from algorithms.context import TrainContext, clip_and_step, make_optimizer
from algorithms.logprobs import completion_logprobs
from algorithms.losses import ClipSettings, agg_loss
from algorithms.reference import frozen_reference
from algorithms.registry import KL_ESTIMATORS, POLICY_LOSSES


@dataclass(frozen=True)
class PGSettings:
    policy_loss: str = "clip"
    clip: ClipSettings = field(default_factory=ClipSettings)
    loss_agg: str = "token_mean"
    kl_coef: float = 0.0
    kl_type: str = "k3"
    entropy_coef: float = 0.0
    ppo_epochs: int = 1


def filter_by_advantage(advantages: Tensor, keep: Tensor, tau: float) -> Tensor:
    """DASH gradient filtering: drop samples whose |A| <= tau before any backward pass.

    Token-level advantages `[N, T]` are judged by their largest magnitude. If no
    kept sample passes, the one with the largest |A| stays, so a step always learns.
    """
    magnitude = advantages.abs() if advantages.dim() == 1 else advantages.abs().amax(-1)
    passed = keep & (magnitude > tau)
    if keep.any() and not passed.any():
        passed = torch.zeros_like(keep)
        passed[torch.where(keep, magnitude, torch.full_like(magnitude, -1.0)).argmax()] = True
    return passed


class PolicyGradient:
    """Owns the policy optimizer (and the frozen reference when KL is on)."""

    def __init__(self, ctx: TrainContext, settings: PGSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.policy_loss = POLICY_LOSSES.get(settings.policy_loss)
        self.kl = KL_ESTIMATORS.get(settings.kl_type)
        self.params = [p for p in ctx.model.parameters() if p.requires_grad]
        s = ctx.settings
        self.optimizer, self.scheduler = make_optimizer(self.params, s.lr, s.weight_decay, s.warmup_steps)
        self.reference = frozen_reference(ctx.model) if settings.kl_coef > 0 else None

    # --- the whole update -------------------------------------------------
    def update(
        self,
        batch: RolloutBatch,
        advantages: Tensor,
        keep: Tensor,
        extra_backward: Callable[[Tensor], dict[str, float]] | None = None,
    ) -> dict[str, float]:
        """Optimise on the kept samples; `advantages` is `[N]` (broadcast over tokens) or `[N, T]` (PPO's GAE).

        `extra_backward(prompt_index)` may add gradients of another loss for the
        same mini-batch (SuperRL's SFT term; PPO's value loss, whose critic steps
        its own optimizer there) before each optimizer step.
        """
        if self.ctx.settings.grad_filter_tau is not None:
            keep = filter_by_advantage(advantages, keep, self.ctx.settings.grad_filter_tau)
        plan = [(prompts, torch.nonzero(torch.isin(batch.group_ids, prompts) & keep).squeeze(-1)) for prompts in self.mini_batches(len(batch.examples))]
        own = [self.ctx.parallel.own(samples, batch.group_ids[samples]) for _, samples in plan]
        old_logp, ref_logp = self.reference_logprobs(batch, torch.cat(own))
        metrics: dict[str, list[float]] = defaultdict(list, {"train/kept_frac": [float(keep.float().mean())]})
        for _ in range(self.settings.ppo_epochs):
            for prompts, samples in plan:
                if len(samples):
                    for k, v in self.backward(batch, samples, advantages, old_logp, ref_logp).items():
                        metrics[k].append(v)
                if extra_backward is not None:
                    for k, v in extra_backward(prompts).items():
                        metrics[k].append(v)
                if self.ctx.parallel.any(sharding.has_gradients(self.ctx.model, self.params)):
                    started = time.perf_counter()
                    metrics["train/grad_norm"].append(self.step())
                    metrics["time/optimizer"].append(time.perf_counter() - started)
        totals = {"time/optimizer"}  # summed over optimizer steps; everything else averaged
        return {k: sum(v) if k in totals else sum(v) / len(v) for k, v in metrics.items()}

    def mini_batches(self, num_prompts: int) -> Iterator[Tensor]:
        size = self.ctx.settings.mini_batch_prompts
        order = torch.arange(num_prompts, device=self.ctx.device)
        yield from order.split(size)

    def state_dict(self) -> dict[str, Any]:
        """The policy optimizer and schedule (the frozen reference is rebuilt from the initial policy)."""
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sharding.load_optimizer(self.optimizer, state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])

    def step(self) -> float:
        return clip_and_step(self.ctx.model, self.params, self.optimizer, self.scheduler, self.ctx.settings.grad_clip, self.ctx.parallel)

    # --- pieces -----------------------------------------------------------
    def off_policy(self, num_prompts: int) -> bool:
        """Whether the policy moves within an update of `num_prompts` prompts (several epochs or mini-batches)."""
        return self.settings.ppo_epochs > 1 or self.ctx.settings.mini_batch_prompts < num_prompts

    def reference_logprobs(self, batch: RolloutBatch, rows: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """Old log-probs (only needed when the policy moves within this update) and reference ones, on `rows`
        (the kept rows this process trains on)."""
        old = self.chunked_logprobs(self.ctx.model, batch, rows) if self.off_policy(len(batch.examples)) else None
        if self.reference is None:
            return old, None
        with sharding.gathered(self.reference):
            return old, self.chunked_logprobs(self.reference, batch, rows)

    @torch.no_grad()
    def chunked_logprobs(self, model: torch.nn.Module, batch: RolloutBatch, rows: Tensor) -> Tensor:
        """`[N, T]` completion log-probs, computed micro-batch by micro-batch on `rows` only (zeros elsewhere)."""
        out = torch.zeros_like(batch.mask)
        for micro in rows.split(self.ctx.settings.micro_batch_size):
            if len(micro):  # split() of no rows yields one empty chunk
                out[micro] = completion_logprobs(model, batch, micro, self.ctx.settings.temperature)[0]
        return out

    def backward(
        self, batch: RolloutBatch, samples: Tensor, advantages: Tensor, old_logp: Tensor | None, ref_logp: Tensor | None
    ) -> dict[str, float]:
        """Accumulate gradients of the loss over this process's share of `samples`, micro-batch by micro-batch;
        the normalisers count all of `samples`, and the returned totals are summed over processes."""
        s, ctx = self.settings, self.ctx
        mask = batch.mask[samples]
        counts = dict(num_tokens=mask.sum().clamp(min=1.0), num_seqs=float(len(samples)), norm_len=float(ctx.settings.max_new_tokens))
        totals: dict[str, float] = defaultdict(float)
        for micro in ctx.parallel.micro_batches(samples, ctx.settings.micro_batch_size, batch.group_ids[samples]):
            # entropy costs a second [N, T, V] pass with gradients: only when it is in the loss (as verl)
            logp, entropy = completion_logprobs(ctx.model, batch, micro, ctx.settings.temperature, with_entropy=s.entropy_coef != 0)
            micro_mask = batch.mask[micro]
            old = old_logp[micro] if old_logp is not None else logp.detach()
            adv = advantages[micro].to(logp.dtype)
            adv = adv.unsqueeze(-1) if adv.dim() == 1 else adv
            pg_mat, clipped = self.policy_loss(logp, old, adv, s.clip)
            pg = agg_loss(pg_mat, micro_mask, s.loss_agg, **counts)
            loss = pg
            if entropy is not None:
                ent = agg_loss(entropy, micro_mask, s.loss_agg, **counts)
                loss = loss - s.entropy_coef * ent
                totals["loss/entropy"] += float(ent.detach())
            if ref_logp is not None:
                kl = agg_loss(self.kl(logp, ref_logp[micro]), micro_mask, s.loss_agg, **counts)
                loss = loss + s.kl_coef * kl
                totals["loss/kl"] += float(kl.detach())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite policy loss ({float(loss.detach())})")
            loss.backward()
            totals["loss/pg"] += float(pg.detach())
            totals["train/clip_frac"] += float((clipped * micro_mask).sum() / counts["num_tokens"])
            totals["train/ratio_mean"] += float(((logp.detach() - old).exp() * micro_mask).sum() / counts["num_tokens"])
        return ctx.parallel.sum(dict(totals))
