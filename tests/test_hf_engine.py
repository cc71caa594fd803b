"""Our HF engine (shared prefix, preallocated cache) samples what plain `model.generate` samples."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from algorithms.batch import SequenceBatch
from algorithms.logprobs import target_logprobs
from bench.models import new_tiny_model
from bench.rollout.hf import HFEngine
from bench.rollout.sampling import sample_tokens
from bench.rollout.types import Sampling
from evaluators.tasks import get_task
from tests.rl_helpers import TINY, example, single_thread, tiny_context  # noqa: F401 (single_thread: fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


def peaked_policy():
    """A random tiny model with sharp, varied next-token distributions (plain init is near uniform)."""
    ctx = tiny_context(seed=3)
    with torch.no_grad():
        ctx.model.model.embed_tokens.weight.mul_(5.0)  # tied with the output head: one token ~20%, the rest spread
    return ctx.model.eval(), ctx.tokenizer, ctx.task


def prompts_of(task, tokenizer, ids):
    return [task.format_prompt(example(i), tokenizer) for i in ids]


def test_greedy_output_is_identical_to_generate():
    model, tokenizer, task = peaked_policy()
    prompts = prompts_of(task, tokenizer, [1, 22, 333, 4444])  # different lengths: left padding differs
    greedy = Sampling(temperature=0, top_p=1.0, max_new_tokens=12)
    ours = HFEngine(model, tokenizer, torch.device("cpu"), 64).generate(prompts, 2, greedy, seed=0)
    plain = HFEngine(model, tokenizer, torch.device("cpu"), 64, share_prefix=False).generate(prompts, 2, greedy, seed=0)
    assert ours.texts == plain.texts


def test_sampled_logprobs_match_the_training_forward():
    model, tokenizer, task = peaked_policy()
    sampling = Sampling(temperature=0.8, top_p=1.0, max_new_tokens=10)
    generation = HFEngine(model, tokenizer, torch.device("cpu"), 64).generate(prompts_of(task, tokenizer, [5, 678]), 4, sampling, seed=1)
    sequences = SequenceBatch(
        torch.cat([generation.prompt_ids, generation.completion_ids], 1),
        torch.cat([generation.prompt_mask, generation.completion_mask.long()], 1),
        generation.prompt_ids.shape[1],
        generation.completion_mask,
    )
    with torch.no_grad():
        logp, _ = target_logprobs(model, sequences, temperature=0.8)
    mask = generation.completion_mask
    torch.testing.assert_close(generation.logprobs * mask, logp * mask, atol=1e-4, rtol=1e-4)


SAMPLES = 16_000  # tells temperature 0.9 from 1.0 at p < 1e-5 at every position; 4,000 did not


def chi_square_p_value(a: Counter, b: Counter) -> float:
    """Two-sample chi-square homogeneity test; rare tokens pooled; Wilson-Hilferty p-value."""
    total_a, total_b = sum(a.values()), sum(b.values())
    cells, rare = [], [0, 0]
    for token in set(a) | set(b):
        pair = (a[token], b[token])
        if (pair[0] + pair[1]) * min(total_a, total_b) / (total_a + total_b) < 5:
            rare = [rare[0] + pair[0], rare[1] + pair[1]]
        else:
            cells.append(pair)
    cells.append(tuple(rare))
    stat = 0.0
    for x, y in cells:
        pooled = (x + y) / (total_a + total_b)
        for observed, total in ((x, total_a), (y, total_b)):
            expected = pooled * total
            stat += (observed - expected) ** 2 / expected if expected > 0 else 0.0
    df = len(cells) - 1
    z = ((stat / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_sampled_token_frequencies_match_generate():
    """16,000 samples of one prompt from each engine: per-position token frequencies agree (p > 0.001)."""
    model, tokenizer, task = peaked_policy()
    sampling = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=3)
    prompt = prompts_of(task, tokenizer, [42])
    ours = HFEngine(model, tokenizer, torch.device("cpu"), SAMPLES).generate(prompt, SAMPLES, sampling, seed=0).completion_ids
    plain = HFEngine(model, tokenizer, torch.device("cpu"), SAMPLES, share_prefix=False).generate(prompt, SAMPLES, sampling, seed=1).completion_ids
    for position in range(3):
        counts_ours, counts_plain = Counter(ours[:, position].tolist()), Counter(plain[:, position].tolist())
        assert len(counts_ours) >= 5, "the test needs a distribution with several likely tokens"
        assert chi_square_p_value(counts_ours, counts_plain) > 1e-3, f"position {position}"


def test_a_kv_cache_budget_splits_calls_and_keeps_greedy_outputs():
    """12 prompts x 2 samples: with a budget for ~3 prompts' caches per call the engine makes
    more, smaller calls, and greedy decoding gives the same completions."""
    model, tokenizer = new_tiny_model(TINY, 0)
    task = get_task("gsm8k_synth")
    prompts = [task.format_prompt(e, tokenizer) for e in task.load("test")[:12]]
    greedy = Sampling(0.0, 1.0, 10)
    config = model.config
    longest = max(len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"])
    per_prompt_mib = 2 * config.num_hidden_layers * config.num_key_value_heads * (config.hidden_size // config.num_attention_heads) * 4 * (longest + 2 * 10) / 2**20  # the prompt once, 10 tokens per sample

    def calls(engine: HFEngine) -> tuple[list[int], list[str]]:
        sizes: list[int] = []
        texts = engine.generate(prompts, 2, greedy, seed=0, on_prompts_done=sizes.append).texts
        return sizes, texts

    unbounded_sizes, unbounded = calls(HFEngine(model, tokenizer, torch.device("cpu"), 64))
    bounded_sizes, bounded = calls(HFEngine(model, tokenizer, torch.device("cpu"), 64, kv_cache_mib=3.5 * per_prompt_mib))
    assert unbounded_sizes == [12] and bounded_sizes == [3, 3, 3, 3]
    assert bounded == unbounded


def test_a_prompts_samples_do_not_depend_on_its_batch_chunking_or_slice():
    """Draws are keyed by (seed, prompt index): 6 prompts sampled in one call, in calls of 2 prompts,
    and as two slices (prompts 0-2, then 3-5 with first_prompt=3, as two processes would) are the same."""
    model, tokenizer, task = peaked_policy()
    prompts = prompts_of(task, tokenizer, [1, 22, 333, 4444, 5, 678])
    sampling = Sampling(temperature=1.0, top_p=0.95, max_new_tokens=10)
    engine = HFEngine(model, tokenizer, torch.device("cpu"), 64)
    whole = engine.generate(prompts, 4, sampling, seed=7)
    chunked = engine.generate(prompts, 4, sampling, seed=7, batch_size=8)
    halves = [engine.generate(prompts[:3], 4, sampling, seed=7), engine.generate(prompts[3:], 4, sampling, seed=7, first_prompt=3)]
    assert len(set(whole.texts)) > 12, "the test needs varied samples"
    assert chunked.texts == whole.texts
    assert halves[0].texts + halves[1].texts == whole.texts
    assert engine.generate(prompts, 4, sampling, seed=8).texts != whole.texts


def test_inverse_cdf_sampling_draws_each_token_over_its_probability_interval():
    """Probabilities [0.25, 0, 0.75] (CDF 0.25, 0.25, 1.0): u in [0, 0.25) draws token 0, u in [0.25, 1)
    token 2; the zero-probability token 1 is never drawn, not even at u = 0.25 exactly."""
    logits = torch.log(torch.tensor([[0.25, 0.0, 0.75]])).expand(5, 3)
    uniforms = torch.tensor([0.0, 0.2499, 0.25, 0.6, 0.999999])
    tokens, logp = sample_tokens(logits, 1.0, 1.0, uniforms)
    assert tokens.tolist() == [0, 0, 2, 2, 2]
    torch.testing.assert_close(logp, torch.log(torch.tensor([0.25, 0.25, 0.75, 0.75, 0.75])))
    # top-p 0.5 keeps only token 2 (0.75 >= 0.5): every uniform draws it, with log-prob 0 after renormalising
    tokens, logp = sample_tokens(logits, 1.0, 0.5, uniforms)
    assert tokens.tolist() == [2] * 5 and torch.allclose(logp, torch.zeros(5))


def test_a_uniform_that_rounds_to_the_total_draws_the_last_possible_token():
    """u * total can round up to the total (u = 1 - 2^-24 in float32): the draw is the last token of positive
    probability, never a zero-probability token after it."""
    logits = torch.log(torch.tensor([[0.3, 0.7, 0.0, 0.0]]))
    tokens, _ = sample_tokens(logits, 1.0, 1.0, torch.tensor([1.0]))
    assert tokens.tolist() == [1]
