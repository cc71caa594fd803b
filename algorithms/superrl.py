"""SuperRL (Liu et al. 2025, "SuperRL: Reinforcement Learning with Supervision to
Boost Language Model Reasoning"). No public code exists; this follows the paper.

An Adaptive Switch probes the reward at the start: where most prompts earn some
reward, plain RL learns well, so the run is GRPO throughout; where reward is
sparse, RL has little to learn from and a Hybrid Actor adds supervision. Per
instance, it takes the GRPO loss on its K rollouts if any is rewarded, else the
NLL of its offline demonstration; both enter one loss L = L_PG + sft_coef * L_SFT
per optimizer step (L_PG over the rewarded instances' tokens, L_SFT the token-mean
NLL over the demonstrations of the failed instances in the same mini-batch).

Departures from the paper, and choices it leaves open:
1. It joins v1's Adaptive Switch (dense vs sparse, whole run) with v2's per-instance
   rule for the Hybrid Actor (v1 adds lambda * L_SFT on offline trajectories without it).
2. The probe is the first update's rollouts, and that update already trains with
   the chosen branch; the decision then holds for the whole run (and is checkpointed).
3. Dense means at least `dense_threshold` (0.5) of the probe's prompts have a
   rewarded rollout; the paper publishes no threshold.
4. `sft_coef` (lambda) is 1.0 and K is the runner's `rollout.n`; neither is published.
5. The two terms are each a mean over their own tokens, not weighted by how many
   instances took each branch; with KL on, the KL loss covers the GRPO samples only.
6. A failed instance without a demonstration contributes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor

from algorithms.advantages import any_rewarded
from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch
from algorithms.configs import SuperRLConfig
from algorithms.context import TrainContext
from algorithms.grpo import pg_settings
from algorithms.policy_gradient import PolicyGradient
from algorithms.registry import ADVANTAGES, register_algorithm
from algorithms.sft import demo_batch, nll_backward
from evaluators.types import Example


def is_sparse(rewarded: Tensor, dense_threshold: float) -> bool:
    """The Adaptive Switch: sparse when fewer than `dense_threshold` of the prompts (`[B]` bool) had a reward."""
    return float(rewarded.float().mean()) < dense_threshold


@register_algorithm("superrl")
class SuperRL(Algorithm):
    needs_demos = True

    def __init__(self, config: SuperRLConfig, ctx: TrainContext) -> None:
        self.config, self.ctx = config, ctx
        self.advantage = ADVANTAGES.get("grpo" if config.norm_adv_by_std else "dr_grpo")
        self.pg = PolicyGradient(ctx, pg_settings(config))
        self.sparse: bool | None = None  # set by the probe on the first update

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        rewarded = any_rewarded(rollouts.rewards, rollouts.group_ids, len(examples))
        if self.sparse is None:
            self.sparse = is_sparse(rewarded, self.config.dense_threshold)
        use_pg = rewarded if self.sparse else torch.ones_like(rewarded)
        has_demo = torch.tensor([e.demo is not None for e in examples], device=rewarded.device)
        use_sft = ~use_pg & has_demo
        advantages = self.advantage(rollouts.rewards, rollouts.group_ids)
        sft = partial(self.sft_backward, examples, use_sft)
        metrics = self.pg.update(rollouts, advantages, use_pg[rollouts.group_ids], extra_backward=sft)
        metrics["train/switch_sparse"] = float(self.sparse)
        metrics["train/frac_pg"] = float(use_pg.float().mean())
        metrics["train/frac_sft"] = float(use_sft.float().mean())
        return metrics

    def sft_backward(self, examples: list[Example], use_sft: Tensor, prompts: Tensor) -> dict[str, float]:
        """Add sft_coef x the token-mean NLL of the demonstrations of this mini-batch's SFT prompts."""
        chosen = [examples[j] for j in prompts.tolist() if use_sft[j]]
        if not chosen:  # the same on every process: `use_sft` is computed from the whole batch
            return {}
        micro = self.ctx.settings.micro_batch_size
        return nll_backward(self.ctx.model, demo_batch(self.ctx, chosen), micro, weight=self.config.sft_coef, parallel=self.ctx.parallel)

    def state_dict(self) -> dict[str, Any]:
        return {"policy": self.pg.state_dict(), "sparse": self.sparse}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pg.load_state_dict(state["policy"])
        self.sparse = state["sparse"]
