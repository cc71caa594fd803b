"""Decode attention that reads each prompt's keys once for its n samples (cascade attention).

The n samples of a prompt share its keys and values. A cache that repeats them n
times makes every decoded token read the prompt n times, and on a CPU that memory
traffic, not arithmetic, is what decode attention costs (42% of the tiny model's
sampling time at 512 sequences). Here the cache holds the prompt once and each
sample's own tokens apart; attention over the prompt runs once per prompt for all
its samples' queries, attention over a sample's own tokens per sample, and the two
softmax parts are merged by their log-sum-exp, the split FlashInfer's cascade
attention makes (Ye et al., 2024, "Cascade Inference"). Same values as attention
over the concatenated keys, to float rounding.

It plugs into transformers through its attention interface (`AttentionInterface`)
under `NAME`, for the decode forwards only (one query token per row); the prefill
stays the model's own attention.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from transformers import AttentionInterface
from transformers.cache_utils import DynamicCache
from transformers.masking_utils import AttentionMaskInterface

from bench.rollout.kv_cache import PreallocatedLayer

NAME = "rlvr_shared_prefix"


class SharedPrefixLayer(PreallocatedLayer):
    """One layer's cache: prompt keys/values once per prompt, and each row's own tokens in buffers
    allocated once for `capacity` of them. `keys`/`values` are the rows' own tokens."""

    def __init__(self, prompt_keys: Tensor, prompt_values: Tensor, prompt_mask: Tensor, samples: int, capacity: int) -> None:
        prompts, heads = prompt_keys.shape[:2]
        own_keys = prompt_keys.new_empty(prompts * samples, heads, 0, prompt_keys.shape[-1])  # no own token yet
        own_values = prompt_values.new_empty(prompts * samples, heads, 0, prompt_values.shape[-1])
        super().__init__(own_keys, own_values, capacity)
        self.prompt_keys, self.prompt_values = prompt_keys, prompt_values
        # additive mask over prompt positions (left padding), broadcast over heads and queries
        self.prompt_bias = torch.zeros(prompt_mask.shape, dtype=torch.float32, device=self.device).masked_fill(prompt_mask == 0, float("-inf"))[:, None, None]
        self.samples = samples
        rows = torch.arange(prompts * samples, device=self.device)
        self.row_prompt, self.row_slot = rows // samples, rows % samples

    def get_seq_length(self) -> int:
        return self.prompt_keys.shape[2] + self.length

    def batch_select_indices(self, indices: Tensor) -> None:
        """Keep rows `indices` (ascending); prompts left with no row are dropped."""
        super().batch_select_indices(indices)
        alive, self.row_prompt = torch.unique(self.row_prompt[indices], return_inverse=True)
        self.row_slot = self.row_slot[indices]
        self.prompt_keys, self.prompt_values, self.prompt_bias = self.prompt_keys[alive], self.prompt_values[alive], self.prompt_bias[alive]


def shared_prefix_cache(prefill: DynamicCache, prompt_mask: Tensor, samples: int, capacity: int) -> DynamicCache:
    """A cache over `prefill`'s prompts for `samples` rows each (rows prompt-major), room for `capacity` new tokens."""
    cache = DynamicCache()
    cache.layers = [SharedPrefixLayer(layer.keys, layer.values, prompt_mask, samples, capacity) for layer in prefill.layers]
    return cache


def _partial(scores: Tensor, values: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Unnormalised softmax-weighted values, the running max and the sum of exponentials."""
    top = scores.amax(-1, keepdim=True)
    weights = (scores - top).exp()
    return weights.to(values.dtype) @ values, top, weights.sum(-1, keepdim=True)


def prefix_attention(
    module: torch.nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
    scaling: float | None = None, dropout: float = 0.0, sliding_window: int | None = None, **kwargs,
) -> tuple[Tensor, None]:
    """Attention of one query token per row over its prompt (`kwargs["shared_prefix"]`'s layer) and its own tokens (`key`, `value`).

    Softmax in float32, as transformers' eager attention; `attention_mask` is unused (prompt padding is
    the layer's, and a row attends to all its own tokens).
    """
    rows, heads, queries, dim = query.shape
    if queries != 1 or sliding_window is not None or dropout or kwargs.get("softcap") is not None or kwargs.get("s_aux") is not None:
        raise NotImplementedError("shared-prefix attention takes one query per row, no sliding window, softcap, sinks or dropout")
    layer: SharedPrefixLayer = kwargs["shared_prefix"].layers[module.layer_idx]
    kv_heads, samples = key.shape[1], layer.samples
    group = heads // kv_heads  # query heads per key/value head
    scale = dim**-0.5 if scaling is None else scaling
    q = query.reshape(rows, kv_heads, group, dim)

    own, own_top, own_sum = _partial((q @ key.transpose(-1, -2)).float() * scale, value)

    prompts = layer.prompt_keys.shape[0]
    grouped = q.new_zeros(prompts, samples, kv_heads, group, dim)
    grouped[layer.row_prompt, layer.row_slot] = q
    grouped = grouped.transpose(1, 2).reshape(prompts, kv_heads, samples * group, dim)
    scores = (grouped @ layer.prompt_keys.transpose(-1, -2)).float() * scale + layer.prompt_bias
    shared, shared_top, shared_sum = (
        t.view(prompts, kv_heads, samples, group, -1)[layer.row_prompt, :, layer.row_slot] for t in _partial(scores, layer.prompt_values)
    )  # each back to [rows, kv_heads, group, .]

    top = torch.maximum(own_top, shared_top)
    own_weight, shared_weight = (own_top - top).exp(), (shared_top - top).exp()
    out = (own.float() * own_weight + shared.float() * shared_weight) / (own_sum * own_weight + shared_sum * shared_weight)
    return out.to(query.dtype).reshape(rows, heads, 1, dim).transpose(1, 2), None


def _no_mask(*args, **kwargs) -> None:
    """The mask the model would build for `NAME`: none (prefix_attention masks the prompt itself)."""
    return None


AttentionInterface.register(NAME, prefix_attention)
AttentionMaskInterface.register(NAME, _no_mask)


def supports_shared_prefix(model: torch.nn.Module) -> bool:
    """Whether every layer is full softmax attention under sdpa or eager, which `prefix_attention` replaces exactly."""
    config = model.config
    layer_types = set(getattr(config, "layer_types", None) or ["full_attention"])
    return layer_types == {"full_attention"} and config._attn_implementation in ("sdpa", "eager")


@contextmanager
def decoding_with_shared_prefix(model: torch.nn.Module) -> Iterator[None]:
    """Route the model's attention through `prefix_attention` (forwards then need `shared_prefix=<cache>`)."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = before
