"""Shared-prefix decode attention computes the attention over the concatenated keys, and the engine samples alike with it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import Qwen2ForCausalLM
from transformers.cache_utils import DynamicCache, DynamicLayer

from bench.models import new_tiny_model, tiny_architecture
from bench.rollout.hf import HFEngine
from bench.rollout.prefix_attention import prefix_attention, shared_prefix_cache, supports_shared_prefix
from bench.rollout.types import Sampling
from evaluators.tasks import get_task
from tests.rl_helpers import TINY, example, single_thread  # noqa: F401 (single_thread: fixture)

pytestmark = pytest.mark.usefixtures("single_thread")

PROMPTS, SAMPLES, KV_HEADS, HEADS, DIM, PROMPT_LEN = 3, 4, 2, 4, 8, 6


class Layer0(torch.nn.Module):
    layer_idx = 0


def prefill(dtype: torch.dtype) -> tuple[DynamicCache, torch.Tensor]:
    """One layer of prompt keys/values, prompts left-padded by 0, 2 and 5 positions."""
    cache = DynamicCache()
    layer = DynamicLayer()
    layer.keys, layer.values = (torch.randn(PROMPTS, KV_HEADS, PROMPT_LEN, DIM, dtype=dtype) for _ in range(2))
    cache.layers = [layer]
    mask = torch.ones(PROMPTS, PROMPT_LEN, dtype=torch.long)
    mask[1, :2], mask[2, :5] = 0, 0
    return cache, mask


def reference(query, cache: DynamicCache, prompt_mask, own_keys, own_values, rows) -> torch.Tensor:
    """sdpa over each row's prompt keys (repeated, padding masked) followed by its own keys, as `[rows, 1, heads, dim]`."""
    prompt_of = rows // SAMPLES
    layer = cache.layers[0]
    keys = torch.cat([layer.keys[prompt_of], own_keys], 2).repeat_interleave(HEADS // KV_HEADS, 1)
    values = torch.cat([layer.values[prompt_of], own_values], 2).repeat_interleave(HEADS // KV_HEADS, 1)
    mask = torch.cat([prompt_mask[prompt_of].bool(), torch.ones(len(rows), own_keys.shape[2], dtype=torch.bool)], 1)
    out = F.scaled_dot_product_attention(query.float(), keys.float(), values.float(), attn_mask=mask[:, None, None], scale=0.3)
    return out.transpose(1, 2)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-6), (torch.bfloat16, 2e-2)])
def test_attention_equals_sdpa_over_the_prompt_and_own_keys_as_rows_and_prompts_drop_out(dtype, tolerance):
    torch.manual_seed(0)
    prompts, prompt_mask = prefill(dtype)
    cache = shared_prefix_cache(prompts, prompt_mask, SAMPLES, capacity=4)
    rows = torch.arange(PROMPTS * SAMPLES)
    own_keys, own_values = torch.empty(len(rows), KV_HEADS, 0, DIM, dtype=dtype), torch.empty(len(rows), KV_HEADS, 0, DIM, dtype=dtype)
    # rows 0-3 are prompt 0's: keeping 1 and 2 of them, and none of prompt 1's, drops prompt 1 from the cache
    for keep in (None, torch.tensor([1, 2, 8, 9, 10, 11]), torch.tensor([0, 3, 4])):
        if keep is not None:
            cache.batch_select_indices(keep)
            rows, own_keys, own_values = rows[keep], own_keys[keep], own_values[keep]
        new_keys, new_values = (torch.randn(len(rows), KV_HEADS, 1, DIM, dtype=dtype) for _ in range(2))
        keys, values = cache.update(new_keys, new_values, 0)
        own_keys, own_values = torch.cat([own_keys, new_keys], 2), torch.cat([own_values, new_values], 2)
        query = torch.randn(len(rows), HEADS, 1, DIM, dtype=dtype)
        out, weights = prefix_attention(Layer0(), query, keys, values, None, scaling=0.3, shared_prefix=cache)
        assert weights is None and out.dtype == dtype and out.shape == (len(rows), 1, HEADS, DIM)
        torch.testing.assert_close(out.float(), reference(query, prompts, prompt_mask, own_keys, own_values, rows), atol=tolerance, rtol=tolerance)
    assert cache.layers[0].prompt_keys.shape[0] == 2 and cache.get_seq_length() == PROMPT_LEN + 3


def test_the_default_scale_is_one_over_the_root_of_the_head_dim():
    torch.manual_seed(1)
    prompts, prompt_mask = prefill(torch.float32)
    cache = shared_prefix_cache(prompts, prompt_mask, SAMPLES, capacity=1)
    keys, values = cache.update(*(torch.randn(PROMPTS * SAMPLES, KV_HEADS, 1, DIM) for _ in range(2)), 0)
    query = torch.randn(PROMPTS * SAMPLES, HEADS, 1, DIM)
    default, _ = prefix_attention(Layer0(), query, keys, values, None, shared_prefix=cache)
    explicit, _ = prefix_attention(Layer0(), query, keys, values, None, scaling=DIM**-0.5, shared_prefix=cache)
    torch.testing.assert_close(default, explicit, atol=0, rtol=0)
    with pytest.raises(RuntimeError, match="capacity 1 exceeded"):
        cache.update(keys, values, 0)


@pytest.mark.parametrize("extra", [{"sliding_window": 4}, {"softcap": 30.0}, {"s_aux": torch.zeros(HEADS)}, {"dropout": 0.1}, {"queries": 2}])
def test_what_it_does_not_compute_is_refused(extra):
    prompts, prompt_mask = prefill(torch.float32)
    cache = shared_prefix_cache(prompts, prompt_mask, SAMPLES, capacity=2)
    keys, values = cache.update(*(torch.randn(PROMPTS * SAMPLES, KV_HEADS, 1, DIM) for _ in range(2)), 0)
    query = torch.randn(PROMPTS * SAMPLES, HEADS, extra.pop("queries", 1), DIM)
    with pytest.raises(NotImplementedError, match="one query per row"):
        prefix_attention(Layer0(), query, keys, values, None, shared_prefix=cache, **extra)


def sliding_window_twin(model: Qwen2ForCausalLM, tokenizer) -> Qwen2ForCausalLM:
    """The same weights with every layer declared sliding-window (a window longer than any sequence: the same function)."""
    config = tiny_architecture(TINY, tokenizer)
    config.use_sliding_window, config.sliding_window, config.max_window_layers = True, 4096, 0
    config.layer_types = ["sliding_attention"] * config.num_hidden_layers
    twin = Qwen2ForCausalLM(config)
    twin.load_state_dict(model.state_dict())
    return twin.eval()


def test_only_full_attention_under_sdpa_or_eager_is_replaced():
    model, tokenizer = new_tiny_model(TINY, 0)
    assert supports_shared_prefix(model)
    assert not supports_shared_prefix(sliding_window_twin(model, tokenizer))
    for implementation, supported in (("eager", True), ("flex_attention", False)):
        model.config._attn_implementation = implementation
        assert supports_shared_prefix(model) is supported


def test_the_engine_samples_the_same_tokens_as_from_a_cache_that_repeats_the_prompt():
    """The tiny model takes the shared-prefix path, its sliding-window twin the repeated cache:
    same seed, same samples, and the model's attention setting is restored after the call."""
    model, tokenizer = new_tiny_model(TINY, 0)
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(5.0)  # peaked next-token distributions, so samples vary by prompt
    model.eval()
    twin = sliding_window_twin(model, tokenizer)
    task = get_task("gsm8k_synth")
    prompts = [task.format_prompt(example(i), tokenizer) for i in (1, 22, 333, 4444)]  # different lengths: left padding
    sampling = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=16)
    shared = HFEngine(model, tokenizer, torch.device("cpu"), 64).generate(prompts, 4, sampling, seed=3)
    repeated = HFEngine(twin, tokenizer, torch.device("cpu"), 64).generate(prompts, 4, sampling, seed=3)
    assert len(set(shared.texts)) > 8, "the test needs varied samples"
    assert shared.texts == repeated.texts
    torch.testing.assert_close(shared.logprobs, repeated.logprobs, atol=1e-5, rtol=1e-5)
    assert model.config._attn_implementation == "sdpa"
