"""PSR, NSR and W-REINFORCE (Zhu et al. 2025, "The Surprising Effectiveness of
Negative Reinforcement in LLM Reasoning"), as in their verl-based reference code.

The verifier reward splits samples into correct and incorrect. PSR trains only on
the correct ones with A = +1 (sharpens what the model already solves: pass@1 up,
large-k pass@k down); NSR only on the incorrect ones with A = -1 (pushes mass off
wrong answers, redistributing it by the model's prior: pass@k up at every k);
W-REINFORCE keeps all with A = lambda (0.1) if correct else -1. No baseline, no std
normalisation, PPO clip (eps 0.2), token-mean, entropy bonus 0.001, no KL.

One class composes the shared PolicyGradient with a keep rule and a registered
advantage, both picked by the algorithm's name.

Departures from the paper and its reference code:
1. "Correct" means reward > 0, so the split also holds for rewards other than {0, 1}
   (identical for the {0, 1} verifier reward the paper uses).
2. A PSR/NSR step whose batch holds no sample of its kind makes no optimizer step
   (nothing to learn from); the paper does not say what its code does then.
3. The entropy bonus defaults to 0.001 for all three (the value of the reference
   code, TianHongZXY/RLVR-Decomposed; one reproducer reports 1e-4).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor

from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch
from algorithms.configs import NSRConfig, PSRConfig, WReinforceConfig  # noqa: F401 (re-exported)
from algorithms.context import TrainContext
from algorithms.grpo import pg_settings
from algorithms.policy_gradient import PolicyGradient
from algorithms.registry import ADVANTAGES, register_advantage, register_algorithm
from evaluators.types import Example


# --- advantages and keep rules ------------------------------------------------
@register_advantage("psr")
def psr_advantage(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """+1 on correct samples, 0 elsewhere (those are dropped by PSR's keep rule)."""
    return (rewards > 0).float()


@register_advantage("nsr")
def nsr_advantage(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """-1 on incorrect samples, 0 elsewhere (those are dropped by NSR's keep rule)."""
    return -(rewards <= 0).float()


@register_advantage("w_reinforce")
def w_reinforce_advantage(rewards: Tensor, group_ids: Tensor, lam: float = 0.1) -> Tensor:
    """lam on correct samples, -1 on incorrect ones: the objective lam * L_PSR + L_NSR."""
    return torch.where(rewards > 0, lam, -1.0).float()


def keep_correct(rewards: Tensor) -> Tensor:
    return rewards > 0


def keep_incorrect(rewards: Tensor) -> Tensor:
    return rewards <= 0


def keep_all(rewards: Tensor) -> Tensor:
    return torch.ones_like(rewards, dtype=torch.bool)


KEEP_RULES: dict[str, Callable[[Tensor], Tensor]] = {"psr": keep_correct, "nsr": keep_incorrect, "w_reinforce": keep_all}


def bound_advantage(config: PSRConfig) -> Callable[[Tensor, Tensor], Tensor]:
    """The advantage registered under `config.name`, with W-REINFORCE's lambda taken from the config."""
    advantage = ADVANTAGES.get(config.name)
    return partial(advantage, lam=config.lam) if isinstance(config, WReinforceConfig) else advantage


# --- the algorithm ------------------------------------------------------------
class SignedSamples(Algorithm):
    """The shared clipped update on the samples a keep rule selects, with a sign-only advantage."""

    def __init__(self, config: PSRConfig, ctx: TrainContext) -> None:
        self.config = config
        self.keep = KEEP_RULES[config.name]
        self.advantage = bound_advantage(config)
        self.pg = PolicyGradient(ctx, pg_settings(config))

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        keep = self.keep(rollouts.rewards)
        return self.pg.update(rollouts, self.advantage(rollouts.rewards, rollouts.group_ids), keep)  # train/kept_frac: after DASH filtering

    def state_dict(self) -> dict[str, Any]:
        return {"policy": self.pg.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pg.load_state_dict(state["policy"])


for _name in KEEP_RULES:
    register_algorithm(_name)(SignedSamples)
