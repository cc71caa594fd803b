"""The name transformers gives a model's KV cache, as forward argument and output field.

5.23 renamed `past_key_values` to `cache`: the old name warns in every job's log and
goes in 5.40. Older releases (down to our floor, 4.56) know only the old one.
"""

from __future__ import annotations

from typing import Any

from transformers.modeling_outputs import CausalLMOutputWithPast

CACHE = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"


def cache_kwargs(cache: Any) -> dict[str, Any]:
    """`model(..., **cache_kwargs(cache))`: continue from `cache`."""
    return {CACHE: cache}


def output_cache(output: Any) -> Any:
    """The KV cache a forward with `use_cache=True` returned."""
    return getattr(output, CACHE)
