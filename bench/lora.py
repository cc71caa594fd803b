"""LoRA policies through peft (optional extra: `pip install -e ".[lora]"`).

`model.lora.r > 0` wraps the loaded policy in peft's LoRA (Hu et al. 2021,
"LoRA: Low-Rank Adaptation of Large Language Models") on
`model.lora.target_modules`: every base weight is frozen, so the optimizer holds
and steps only the adapter matrices. B starts at zero (peft's default init), so
the wrapped policy's first forward is the base's: a LoRA run's first step is the
plain run's first step (A's random init runs in a forked RNG, so the rest of the
run draws what the plain run draws).

Where the rest of the run meets the adapters:
- KL reference: the policy itself with its adapters disabled
  (algorithms/reference.py), so no second copy of the weights.
- Checkpoints: a peft model's `save_pretrained` writes the adapters only
  (`adapter_model.safetensors` and an `adapter_config.json` naming the base);
  resume loads them in place (`load_adapters`).
- Rollouts: the hf engine samples from the wrapped module itself; vLLM is sent
  the merged weights W + B A * alpha / r under the base's parameter names
  (`merged_weights`).
- PPO: `critic=separate` deep-copies the adapted transformer, so the critic
  trains its own adapters and value head over the same frozen base weights.

Departures from TRL, verl and OpenRLHF:
1. Merged weights are computed out of place, a layer at a time (the vLLM sync sends
   them in chunks, bench/rollout/vllm_colocation.py), from the adapter
   parameters; the trained module is never changed. TRL
   (`GRPOTrainer._move_model_to_vllm` in trl/trainer/grpo_trainer.py, now
   `VLLMGeneration.sync_weights` in trl/generation/vllm_generation.py) calls
   `merge_adapter()`, reads the state dict and then `unmerge_adapter()`, which
   adds and subtracts B A from the frozen weights at every sync (in bf16 weights
   that drifts from the base).
2. vLLM gets dense merged weights, never a LoRA adapter request: one engine path
   for LoRA and full fine-tuning, at the cost of a dense sync. verl instead hands
   vLLM the adapter tensors (`TensorLoRARequest`, verl/utils/vllm/utils.py) with
   vLLM's own LoRA support on.
3. The KL reference is the policy with its adapters disabled, as verl's
   `ref_in_actor`; OpenRLHF loads a separate reference model
   (`ReferenceModelActor`, openrlhf/trainer/ray/launcher.py) whatever the LoRA rank.
4. No adapter dropout knob (always 0): the old-policy and current log-probs of
   an on-policy step are then the same function, so its ratio is exactly 1.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file

from algorithms.reference import is_peft_model
from bench.config import LoraConfig

ADAPTER_FILE = "adapter_model.safetensors"  # what peft's save_pretrained writes
MISSING_PEFT = 'model.lora.r > 0 needs peft: pip install -e ".[lora]" (or set model.lora.r=0 to train every weight)'


def lora_config_error(cfg: LoraConfig) -> str | None:
    """Why `model.lora` cannot run (None when it can); checked with the rest of the config, before any work."""
    if cfg.r < 0:
        return f"model.lora.r must be >= 0 (0 = off), got {cfg.r}"
    if cfg.r == 0:
        return None
    if cfg.alpha <= 0:
        return f"model.lora.alpha must be > 0, got {cfg.alpha}"
    if not cfg.target_modules:
        return "model.lora.target_modules is empty: name the modules that get adapters (e.g. [q_proj,v_proj])"
    if importlib.util.find_spec("peft") is None:
        return MISSING_PEFT
    return None


def with_lora(model: torch.nn.Module, cfg: LoraConfig) -> torch.nn.Module:
    """`model` itself when `cfg.r == 0`, else wrapped in fresh LoRA adapters (B = 0) with the base frozen."""
    if cfg.r == 0:
        return model
    error = lora_config_error(cfg)
    if error:
        raise ValueError(error)
    import peft  # the optional extra: only LoRA runs import it

    adapters = peft.LoraConfig(
        r=cfg.r, lora_alpha=cfg.alpha, target_modules=list(cfg.target_modules), lora_dropout=0.0, bias="none", task_type="CAUSAL_LM"
    )
    with torch.random.fork_rng(devices=[]):  # A's random init leaves the run's RNG stream where the plain run has it
        return peft.get_peft_model(model, adapters)


def merged_weights(model: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """The base model's parameters under its own names, each adapted weight replaced by W + B A * alpha / r.

    A plain model yields its state dict unchanged. Merged tensors are fresh, one
    layer at a time; the policy's own weights and adapters are left as they are.
    """
    if not is_peft_model(model):
        yield from model.state_dict().items()
        return
    from peft.tuners.lora import LoraLayer

    base = model.get_base_model()
    adapter = model.active_adapter
    inside_layers = tuple(f"{name}." for name, module in base.named_modules() if isinstance(module, LoraLayer))
    with torch.no_grad():
        for name, module in base.named_modules():
            if isinstance(module, LoraLayer):
                base_layer = module.get_base_layer()
                yield f"{name}.weight", base_layer.weight + module.get_delta_weight(adapter).to(base_layer.weight.dtype)
                if getattr(base_layer, "bias", None) is not None:
                    yield f"{name}.bias", base_layer.bias
                continue
            if name.startswith(inside_layers):
                continue  # inside a LoRA layer: its base weights and adapters were merged above
            for key, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
                if key not in module._non_persistent_buffers_set:
                    yield f"{name}.{key}" if name else key, tensor


def load_adapters(model: torch.nn.Module, checkpoint: Path) -> None:
    """Copy a checkpoint's saved adapters into `model`'s in place; any adapter missing or extra is an error."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    path = checkpoint / ADAPTER_FILE
    if not path.exists():
        raise ValueError(f"checkpoint {checkpoint} holds no LoRA adapters ({ADAPTER_FILE}); it was saved by a run with model.lora.r=0")
    saved = load_file(path)
    expected = set(get_peft_model_state_dict(model))
    if set(saved) != expected:
        raise ValueError(
            f"checkpoint {checkpoint} adapters do not match model.lora: missing {sorted(expected - set(saved))[:5]}, "
            f"unexpected {sorted(set(saved) - expected)[:5]}"
        )
    set_peft_model_state_dict(model, saved)
