"""A KV cache that allocates once and writes in place.

transformers' `DynamicLayer` grows by `torch.cat`, copying the whole cache every
decoded token (45% of CPU sampling time on the tiny model). This layer keeps the
same semantics (keys/values are the first `length` positions) over buffers sized
for prompt + max_new_tokens, and can drop finished rows.
"""

from __future__ import annotations

from torch import Tensor
from transformers.cache_utils import DynamicCache, DynamicLayer


class PreallocatedLayer(DynamicLayer):
    def __init__(self, keys: Tensor, values: Tensor, capacity: int) -> None:
        super().__init__()
        self.dtype, self.device = keys.dtype, keys.device
        batch, heads, length, dim = keys.shape
        self._keys = keys.new_empty(batch, heads, capacity, dim)
        self._values = values.new_empty(batch, heads, capacity, values.shape[-1])
        self._keys[:, :, :length] = keys
        self._values[:, :, :length] = values
        self.length = length
        self._expose()
        self.is_initialized = True

    def _expose(self) -> None:
        self.keys = self._keys[:, :, : self.length]
        self.values = self._values[:, :, : self.length]

    def update(self, key_states: Tensor, value_states: Tensor, *args, **kwargs) -> tuple[Tensor, Tensor]:
        end = self.length + key_states.shape[-2]
        if end > self._keys.shape[2]:
            raise RuntimeError(f"KV cache capacity {self._keys.shape[2]} exceeded")
        self._keys[:, :, self.length : end] = key_states
        self._values[:, :, self.length : end] = value_states
        self.length = end
        self._expose()
        return self.keys, self.values

    def batch_select_indices(self, indices: Tensor) -> None:
        self._keys, self._values = self._keys[indices], self._values[indices]
        self._expose()


def preallocated_cache(prefill: DynamicCache, repeats: int, capacity: int) -> DynamicCache:
    """A cache holding `prefill`'s rows each repeated `repeats` times, room for `capacity` positions."""
    cache = DynamicCache()
    cache.layers = [
        PreallocatedLayer(layer.keys.repeat_interleave(repeats, 0), layer.values.repeat_interleave(repeats, 0), capacity)
        for layer in prefill.layers
    ]
    return cache
