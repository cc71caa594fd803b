"""FSDP2 sharding of the policy over a run's processes (`sharding=fsdp` under torchrun).

torch's own `fully_shard` (as torchtune and torchtitan use it): each decoder layer, then the root,
is one unit, so between steps every process holds 1/N of the fp32 master weights, of their
gradients and of AdamW's moments. Mixed precision follows `model.dtype`: weights are gathered in
the compute dtype, and gradients accumulated and reduced in fp32.

The weights are gathered whole for a phase (a step's generation and update, an evaluation), not
layer by layer. Our processes run different numbers of forwards: each decodes until its own
completions stop, and each trains its own micro-batches, whose count depends on what it kept.
Per-layer gathers are collectives, so those processes would wait on each other (on the CPU
"Connection closed by peer", on GPUs a hang). Within a phase no forward or backward communicates:
gradients accumulate locally and are reduce-scattered once per optimizer step, summed rather than
averaged (our losses already divide by global counts), by one zero-loss forward and backward that
every process takes. A process's peak is then one compute-dtype copy of the weights and their
fp32 gradients, next to its shard of the optimizer state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from algorithms.precision import compute_dtype, set_compute_dtype

_STATE = "rlvr_shards"


@dataclass
class Shards:
    """What a sharded model needs beyond FSDP's own state."""

    cls: type  # the model's class before fully_shard subclassed it (frozen copies are built from it)
    gathered: bool = False  # whole on every process now
    pending: bool = False  # gradients accumulated since the last reduction
    hooks: list[Any] = field(default_factory=list)

    def note_gradient(self, _: Tensor) -> None:
        self.pending = True


def is_sharded(model: Any) -> bool:
    return isinstance(model, FSDPModule)


def shard(model: nn.Module) -> None:
    """`fully_shard` each decoder layer (the classes transformers names in `_no_split_modules`), then the root."""
    cls, dtype = type(model), compute_dtype(model)
    weights = next(model.parameters()).dtype
    policy = MixedPrecisionPolicy(param_dtype=None if dtype == weights else dtype, reduce_dtype=torch.float32)
    layer_classes = set(getattr(model, "_no_split_modules", None) or ())
    layers = [m for m in model.modules() if type(m).__name__ in layer_classes]
    if not layers:
        raise ValueError(f"sharding=fsdp found no decoder layers in {cls.__name__} (its `_no_split_modules` names none)")
    for layer in layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    for unit in units(model):
        unit.set_reshard_after_forward(False, recurse=False)
        unit.set_reshard_after_backward(False, recurse=False)
        unit.set_requires_gradient_sync(False, recurse=False)
        unit.set_reduce_scatter_unused_params(True, recurse=False)  # every process reduces the same parameters
        unit.set_gradient_divide_factor(1.0)
        unit.set_force_sum_reduction_for_comms(True)  # a plain sum: gloo has no PREMUL_SUM
    setattr(model, _STATE, Shards(cls))


def units(model: nn.Module) -> list[FSDPModule]:
    return [m for m in model.modules() if isinstance(m, FSDPModule)]


def _shards(model: nn.Module) -> Shards:
    return getattr(model, _STATE)


@contextlib.contextmanager
def gathered(*models: Any) -> Iterator[None]:
    """The sharded ones among `models` whole on every process for the block (a no-op for the others,
    and for one already gathered by an enclosing block)."""
    entered = [m for m in models if is_sharded(m) and not _shards(m).gathered]
    for model in entered:
        _gather(model)
    try:
        yield
    finally:
        for model in entered:
            _release(model)


def _gather(model: nn.Module) -> None:
    shards = _shards(model)
    for unit in units(model):
        unit.unshard()
    # the gathered parameters are what backward accumulates into; FSDP keeps the same objects per unshard
    shards.hooks = [p.register_post_accumulate_grad_hook(shards.note_gradient) for p in model.parameters() if p.requires_grad]
    shards.gathered = True


def _release(model: nn.Module) -> None:
    shards = _shards(model)
    for hook in shards.hooks:
        hook.remove()
    shards.hooks, shards.gathered = [], False
    _reshard(model)


def _reshard(model: nn.Module) -> None:
    for unit in units(model):
        unit.reshard()


def has_gradients(model: nn.Module, params: list[nn.Parameter]) -> bool:
    """Whether this process has accumulated gradients for `params` (of `model`) since the last step."""
    if is_sharded(model):
        return _shards(model).pending
    return any(p.grad is not None for p in params)


def reduce_gradients(model: nn.Module) -> None:
    """Reduce-scatter (sum) every process's accumulated gradients into the gradient shards and leave
    the shards registered, for the optimizer to step. Every process must call it."""
    shards = _shards(model)
    for unit in units(model):
        unit.set_requires_gradient_sync(True, recurse=False)
    try:
        weight = next(model.parameters())
        out = model(input_ids=torch.zeros((1, 1), dtype=torch.long, device=weight.device), use_cache=False)
        (_first_tensor(out).sum() * 0).backward()
    finally:
        for unit in units(model):
            unit.set_requires_gradient_sync(False, recurse=False)
    shards.pending = False
    _reshard(model)


def _first_tensor(out: Any) -> Tensor:
    """A forward's output tensor: a transformers output's first field (a causal LM's logits), or the tensor itself."""
    return out if isinstance(out, Tensor) else out[0]


def after_step(model: nn.Module) -> None:
    """Gather the stepped shards again when the model was whole (its gathered copy is stale)."""
    if is_sharded(model) and _shards(model).gathered:
        for unit in units(model):
            unit.unshard()


def frozen_copy(model: nn.Module) -> nn.Module:
    """A frozen twin of a sharded model (FSDP modules cannot be deep-copied): its class and config
    built on the meta device, sharded the same way, its shards and buffers copied from `model`'s."""
    weights = next(model.parameters())
    with torch.device("meta"):
        twin = _shards(model).cls(model.config).to(weights.dtype)
    set_compute_dtype(twin, compute_dtype(model))
    twin.requires_grad_(False).eval()
    shard(twin)
    twin.to_empty(device=weights.device)
    with torch.no_grad():
        for mine, theirs in zip(twin.parameters(), model.parameters(), strict=True):
            mine.to_local().copy_(theirs.to_local())
        for mine, theirs in zip(twin.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
    return twin


def plain_copy(module: nn.Module) -> nn.Module:
    """An unsharded copy of a submodule of a sharded model that is no unit itself (FSDP modules cannot be
    deep-copied): its class built from its config on the meta device, so no random init draws, then its
    weights gathered whole and its buffers copied. Every process must call it, in step."""
    if isinstance(module, FSDPModule):
        raise ValueError(f"{type(module).__name__} is an FSDP unit; plain_copy copies a module that holds units")
    weights = next(module.parameters())
    with torch.device("meta"):
        twin = type(module)(module.config).to(weights.dtype)
    twin.to_empty(device=weights.device)
    twin.load_state_dict(full_state(module.state_dict(), keep=True))
    with torch.no_grad():
        for mine, theirs in zip(twin.buffers(), module.buffers(), strict=True):
            mine.copy_(theirs)
    return twin.train(module.training)


def local(param: Tensor) -> Tensor:
    """This process's shard of a sharded parameter (the tensor itself otherwise)."""
    return param.to_local() if isinstance(param, DTensor) else param


def full_state(obj: Any, keep: bool) -> Any:
    """`obj` (a state dict, nested) with every sharded tensor gathered whole, on the CPU where `keep`
    (rank 0, which writes it) and dropped to None elsewhere. Every process must call it, in step."""
    if isinstance(obj, DTensor):
        whole = obj.full_tensor()
        return whole.cpu() if keep else None
    if isinstance(obj, dict):
        return {k: full_state(v, keep) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(full_state(v, keep) for v in obj)
    return obj


def full_weights(model: nn.Module, keep: bool) -> dict[str, Tensor | None]:
    """A sharded model's whole state dict (`full_state`), a tied weight once under its first name, as
    `save_pretrained` writes an unsharded model's."""
    seen: set[int] = set()
    weights = {}
    for name, tensor in model.state_dict(keep_vars=True).items():  # keep_vars: a tied weight is one object
        if id(tensor) not in seen:
            seen.add(id(tensor))
            weights[name] = full_state(tensor.detach(), keep)
    return weights


def load_full_weights(model: nn.Module, state: dict[str, Tensor]) -> tuple[list[str], list[str]]:
    """Whole weights into a sharded model, each process keeping its shards; returns (missing, unexpected)
    keys as `load_state_dict` does (a tied copy absent from `state` is missing there too)."""
    # torch fills a key `state` lacks from the model's own value and reports nothing, so missing keys are found here
    missing = [key for key in model.state_dict() if key not in state]
    # a copy: torch replaces the dict's tensors with shards of them
    result = set_model_state_dict(model, dict(state), options=StateDictOptions(full_state_dict=True, strict=False))
    return missing, list(result.unexpected_keys)


def load_optimizer(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """`optimizer.load_state_dict` of a whole (gathered) state: a sharded parameter's moments are
    re-sharded as the parameter is."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    per_param = {i: {k: _shard_like(v, params[i]) for k, v in values.items()} for i, values in state["state"].items()}
    optimizer.load_state_dict({**state, "state": per_param})


def _shard_like(value: Any, param: Tensor) -> Any:
    if isinstance(param, DTensor) and torch.is_tensor(value) and not isinstance(value, DTensor) and value.shape == param.shape:
        return distribute_tensor(value.to(param.device), param.device_mesh, param.placements, src_data_rank=None)
    return value
