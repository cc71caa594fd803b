"""DAPO's sampling-side techniques (Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement
Learning System at Scale"), as options of every group-based algorithm.

Dynamic sampling: a group whose n rewards are all equal has zero advantage under any group
baseline, so it only dilutes the batch; drop it and generate more prompts until the step's
batch is full (verl's DAPO recipe, `algorithm.filter_groups`; docs/algo/dapo.md quotes its loop).
Overlong reward shaping: a completion that runs into the last `overlong_buffer` tokens before
the length cap loses reward linearly, up to `overlong_penalty` at the cap (verl
verl/workers/reward_manager/dapo.py `DAPORewardManager.__call__`). Overlong filtering: a
truncated completion carries no loss (the paper's "overlong filtering").

Departures from the paper and verl's recipe:
1. When `max_generation_rounds` rounds still leave the batch short, the step trains on the
   groups kept so far (verl raises "Generated too many"); when no group at all was kept, it
   trains on the last round unfiltered (logged as `train/zero_variance_groups` > 0), so a
   sparse-reward run goes on instead of stopping.
2. Each round draws `rollout.prompts_per_step` prompts (verl draws `data.gen_batch_size`,
   3x the train batch in the paper's script); groups beyond the batch are dropped, as in verl.
3. Groups are filtered on the task reward before overlong shaping (verl's `metric: acc`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from algorithms.configs import GroupSampling  # noqa: F401 (re-exported: its knobs live with the other configs)


def zero_variance_groups(rewards: Tensor, n: int) -> Tensor:
    """`[N] -> [N / n]` bool: True where a group's n rewards are all equal (prompt-major rows)."""
    groups = rewards.view(-1, n)
    return groups.amax(-1) == groups.amin(-1)


def overlong_shaping(lengths: Tensor, max_len: int, buffer: int, penalty: float) -> Tensor:
    """`[N]` reward change: 0 up to `max_len - buffer` tokens, then falling linearly to `-penalty` at `max_len`."""
    exceed = lengths.float() - (max_len - buffer)
    return torch.clamp(-exceed / buffer * penalty, max=0.0)
