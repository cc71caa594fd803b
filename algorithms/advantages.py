"""Outcome advantages: one scalar per sample from its reward and its group.

Every entry takes `(rewards [N], group_ids [N])` and returns `[N]`; samples of one
prompt share a group id. Token-level advantages (PPO's GAE) live in ppo.py.
"""

from __future__ import annotations

import torch
from torch import Tensor

from algorithms.registry import register_advantage


def group_stats(rewards: Tensor, group_ids: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample mean and unbiased std of its group; a group of one gets (0, 1) as in verl."""
    rewards = rewards.float()
    _, inverse, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), dtype=rewards.dtype, device=rewards.device).index_add_(0, inverse, rewards)
    means = sums / counts
    squares = torch.zeros(len(counts), dtype=rewards.dtype, device=rewards.device).index_add_(0, inverse, (rewards - means[inverse]) ** 2)
    stds = torch.sqrt(squares / (counts - 1).clamp(min=1))
    singleton = counts[inverse] == 1
    mean = torch.where(singleton, torch.zeros_like(rewards), means[inverse])
    std = torch.where(singleton, torch.ones_like(rewards), stds[inverse])
    return mean, std


@register_advantage("grpo")
def grpo_advantage(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """A_i = (r_i - mean_g) / (std_g + 1e-6)."""
    mean, std = group_stats(rewards, group_ids)
    return (rewards.float() - mean) / (std + 1e-6)


@register_advantage("dr_grpo")
def dr_grpo_advantage(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """A_i = r_i - mean_g: no std division (Dr. GRPO; ReLIFT's RL part)."""
    mean, _ = group_stats(rewards, group_ids)
    return rewards.float() - mean


def any_rewarded(rewards: Tensor, group_ids: Tensor, num_groups: int) -> Tensor:
    """`[num_groups]` bool: True where at least one sample of the group earned a reward (> 0).

    ReLIFT buffers the groups where this is False; SuperRL routes them to SFT.
    """
    hits = torch.zeros(num_groups, device=rewards.device).index_add_(0, group_ids, (rewards > 0).float())
    return hits > 0
