"""Gradient (activation) checkpointing under whichever name the installed transformers uses.

transformers 5.2x renamed `gradient_checkpointing_enable` / `is_gradient_checkpointing` to
`activation_checkpointing_enable` / `is_activation_checkpointing` and warns on the old
names; the floor (4.56) has only the old ones.
"""

from __future__ import annotations

import torch


def enable_checkpointing(model: torch.nn.Module) -> None:
    """Non-reentrant checkpointing of every decoder layer (TRL's and verl's choice)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def checkpointing_on(model: torch.nn.Module) -> bool:
    """Whether `model` recomputes its layers in backward (and so runs without a KV cache) now."""
    name = "is_activation_checkpointing" if hasattr(type(model), "is_activation_checkpointing") else "is_gradient_checkpointing"
    return bool(getattr(model, name, False)) and model.training
