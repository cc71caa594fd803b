"""GRPO (Shao et al. 2024, DeepSeekMath) with the knobs of its descendants.

A_i = (r_i - mean_g) / (std_g + 1e-6) on every token of sample i; PPO clipped
surrogate; optional KL loss to the frozen initial policy and entropy bonus.
Presets: Dr. GRPO (Liu et al. 2025) = `norm_adv_by_std=false` +
`seq_mean_token_sum_norm`; DAPO (Yu et al. 2025) = clip-higher 0.2/0.28 +
`token_mean` + dynamic sampling + overlong reward shaping, no KL (the sampling
options are algorithms/group_sampling.py's, open to every group-based algorithm).

Departures from the paper, following verl's reference code:
1. The loss is aggregated by `loss_agg` (default token_mean, as verl) rather
   than the paper's per-sequence mean then batch mean (`seq_mean_token_mean`).
2. The KL estimator is k3 clamped to [-10, 10] and log-ratios clamped to +-20.
3. `seq_mean_token_sum_norm` averages over sequences after dividing each token sum
   by max_new_tokens; verl sums over sequences (a constant lr factor).
"""

from __future__ import annotations

from typing import Any

import torch

from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch
from algorithms.configs import GRPOConfig
from algorithms.context import TrainContext
from algorithms.losses import ClipSettings
from algorithms.policy_gradient import PGSettings, PolicyGradient
from algorithms.registry import ADVANTAGES, register_algorithm
from evaluators.types import Example


def pg_settings(config: Any, policy_loss: str = "clip") -> PGSettings:
    """The PolicyGradient settings named in a GRPO-family config."""
    return PGSettings(
        policy_loss=policy_loss,
        clip=ClipSettings(config.eps_low, config.eps_high, config.dual_clip),
        loss_agg=config.loss_agg,
        kl_coef=config.kl_coef,
        kl_type=config.kl_type,
        entropy_coef=config.entropy_coef,
        ppo_epochs=config.ppo_epochs,
    )


@register_algorithm("grpo")
class GRPO(Algorithm):
    def __init__(self, config: GRPOConfig, ctx: TrainContext) -> None:
        self.config = config
        self.advantage = ADVANTAGES.get("grpo" if config.norm_adv_by_std else "dr_grpo")
        self.pg = PolicyGradient(ctx, pg_settings(config))

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        advantages = self.advantage(rollouts.rewards, rollouts.group_ids)
        keep = torch.ones_like(rollouts.rewards, dtype=torch.bool)
        return self.pg.update(rollouts, advantages, keep)

    def state_dict(self) -> dict[str, Any]:
        return {"policy": self.pg.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pg.load_state_dict(state["policy"])
