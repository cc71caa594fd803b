"""Checkpoints: policy, tokenizer, algorithm state, sampler position, RNG, step.

Each is written to a temporary directory and renamed into place, so a killed
run leaves either the previous checkpoint or the new one, never a torn one; only
the newest `keep` are kept. Loading is in place, into the model the algorithm
already holds, so its optimizer and its frozen KL reference stay wired as built.
A LoRA policy's checkpoint holds its adapters, not the frozen base (bench/lora.py).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from algorithms.reference import is_peft_model
from algorithms.sharding import is_sharded, load_full_weights
from bench.lora import load_adapters

STATE_FILE = "trainer_state.pt"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    root: Path, step: int, model, tokenizer, trainer_state: dict[str, Any], keep: int = 2, weights: dict[str, torch.Tensor] | None = None
) -> Path:
    """Write `root/step_{step:06d}` atomically and keep only the newest `keep` (0 = all).
    `weights` (a sharded model's, gathered whole) replace the model's own state dict."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"step_{step:06d}"
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}-"))
    try:
        model.save_pretrained(staging, state_dict=weights)
        tokenizer.save_pretrained(staging)
        torch.save({"step": step, "rng": rng_state(), **trainer_state}, staging / STATE_FILE)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    stale = list_checkpoints(root)[:-keep] if keep > 0 else []
    for old in [*stale, *root.glob(".step_*")]:  # and staging dirs a killed run left behind
        shutil.rmtree(old, ignore_errors=True)
    return target


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not root.exists():
        return []
    return sorted(p for p in root.glob("step_*") if (p / STATE_FILE).exists())


def latest_checkpoint(root: Path) -> Path | None:
    checkpoints = list_checkpoints(root)
    return checkpoints[-1] if checkpoints else None


def step_of(checkpoint: Path | None) -> int:
    """The training step a checkpoint was written after (0 for none)."""
    return int(checkpoint.name.removeprefix("step_")) if checkpoint else 0


def load_trainer_state(checkpoint: Path) -> dict[str, Any]:
    return torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)  # not every rank onto the saver's GPU


def load_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    """Copy saved weights into `model` in place; only tied copies (lm_head = embeddings) may be absent.

    A LoRA policy's checkpoint holds its adapters only (bench/lora.py): those are what load.
    """
    if is_peft_model(model):
        load_adapters(model, checkpoint)
        return
    state: dict[str, torch.Tensor] = {}
    for shard in sorted(checkpoint.glob("*.safetensors")):
        state.update(load_file(shard))
    if is_sharded(model):
        missing, unexpected = load_full_weights(model, state)
    else:
        missing, unexpected = model.load_state_dict(state, strict=False)
    params = dict(model.named_parameters(remove_duplicate=False))
    loaded = {id(params[k]) for k in state if k in params}  # a tied copy is the same parameter
    untied = [k for k in missing if k not in params or id(params[k]) not in loaded]
    if unexpected or untied:
        raise ValueError(f"checkpoint {checkpoint} does not match the model: missing {untied}, unexpected {unexpected}")
