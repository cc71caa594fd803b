"""Compute precision: fp32 master weights, low-precision matmuls under autocast.

AdamW on bf16 weights loses almost every update at RL learning rates (1e-6 is
below half an ulp of most bf16 weights), so the policy keeps fp32 weights and
optimizer state, and `model.dtype=bfloat16` only sets the dtype its forwards
compute in (verl: FSDP mixed precision; TRL: `bf16=True` autocast). The compute
dtype rides on the module, so every forward (rollout, old/reference log-probs,
the update) reads it from the model it runs.
"""

from __future__ import annotations

import contextlib

import torch

_ATTRIBUTE = "rlvr_compute_dtype"


def set_compute_dtype(model: torch.nn.Module, dtype: torch.dtype) -> None:
    setattr(model, _ATTRIBUTE, dtype)


def compute_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype `model`'s forwards compute in (its weights' dtype unless set)."""
    return getattr(model, _ATTRIBUTE, None) or next(model.parameters()).dtype


def compute_autocast(model: torch.nn.Module) -> contextlib.AbstractContextManager:
    """Autocast to the compute dtype when it is below the weights' precision; a no-op otherwise."""
    dtype, weights = compute_dtype(model), next(model.parameters())
    if dtype == weights.dtype or weights.device.type == "meta":
        return contextlib.nullcontext()
    return torch.autocast(weights.device.type, dtype=dtype)
