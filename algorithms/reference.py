"""The frozen KL reference: the initial policy, kept as it was when training started.

A fully trained policy gets a frozen deep copy. A LoRA policy (bench/lora.py)
is its own reference: its base weights never train, so the same module with
its adapters disabled is the initial policy, at no extra memory (as verl:
with `lora_rank > 0` its reference is the actor without LoRA applied,
`ref_in_actor` in verl/trainer/ppo/ray_trainer.py).
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import torch

from algorithms import sharding


def is_peft_model(model: Any) -> bool:
    """Whether `model` is a peft model; peft is never imported here (a model cannot be one unless it was)."""
    peft = sys.modules.get("peft")
    return peft is not None and isinstance(model, peft.PeftModel)


def causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers model itself, under a peft wrapper if there is one (its LoRA layers stay in place)."""
    return model.get_base_model() if is_peft_model(model) else model


class AdaptersDisabled:
    """A LoRA policy seen with its adapters off: called like the model, it is the frozen base.

    Attributes (parameters, the compute dtype of algorithms/precision.py) are the policy's own.
    """

    def __init__(self, policy: torch.nn.Module) -> None:
        self.policy = policy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.policy.disable_adapter():
            return self.policy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "policy":  # not yet set (copy, unpickle): never recurse
            raise AttributeError(name)
        return getattr(self.policy, name)


def frozen_reference(policy: torch.nn.Module) -> torch.nn.Module | AdaptersDisabled:
    """What the KL term compares the policy against: its adapters switched off, or a frozen copy."""
    if is_peft_model(policy):
        return AdaptersDisabled(policy)
    if sharding.is_sharded(policy):
        return sharding.frozen_copy(policy)
    return copy.deepcopy(policy).eval().requires_grad_(False)
