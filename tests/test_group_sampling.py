"""DAPO's dynamic sampling, overlong shaping and filtering: the rules by hand, then real rounds."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from algorithms.advantages import grpo_advantage
from algorithms.group_sampling import GroupSampling, overlong_shaping, zero_variance_groups
from algorithms.logprobs import completion_logprobs
from algorithms.policy_gradient import PGSettings, PolicyGradient
from bench.app import compose_config
from bench.generation_rounds import GroupGenerator, concat_rollouts, group_sampling, round_seed, select_groups
from bench.runner import scratch_runner
from tests.rl_helpers import rollout_batch, single_thread, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")


def test_zero_variance_groups_are_the_all_equal_ones():
    # groups of n=3: [1,1,1] all equal, [0,1,0] mixed, [0,0,0] all equal, [0.5,0.5,0.5] all equal
    rewards = torch.tensor([1.0, 1, 1, 0, 1, 0, 0, 0, 0, 0.5, 0.5, 0.5])
    assert zero_variance_groups(rewards, 3).tolist() == [True, False, True, True]


def test_overlong_shaping_is_linear_over_the_buffer():
    # max_len 20, buffer 8, penalty 1: no change up to 12 tokens; 16 -> -(16-12)/8 = -0.5; 20 -> -1
    lengths = torch.tensor([5, 12, 13, 16, 20])
    assert overlong_shaping(lengths, 20, 8, 1.0).tolist() == pytest.approx([0.0, 0.0, -0.125, -0.5, -1.0])
    assert overlong_shaping(lengths, 20, 8, 0.5).tolist() == pytest.approx([0.0, 0.0, -0.0625, -0.25, -0.5])


def test_round_seeds_are_keyed_by_seed_step_and_round():
    assert round_seed(3, 7, 0) == 3 * 1_000_003 + 7  # round 0: the seed a step always had
    seeds = {round_seed(s, t, r) for s in range(3) for t in range(20) for r in range(5)}
    assert len(seeds) == 3 * 20 * 5 and round_seed(1, 2, 3) == round_seed(1, 2, 3)


def test_concatenated_rounds_score_like_the_rounds_alone():
    # Two rounds with different prompt and completion widths: re-padding must leave every log-prob unchanged.
    ctx = tiny_context()
    first = rollout_batch(ctx, [[1.0, 0.0], [0.0, 0.0]], seed=1)
    second = select_groups(rollout_batch(ctx, [[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], seed=2), [2, 1], 2)
    both = concat_rollouts([first, second], 2, ctx.tokenizer.pad_token_id)
    assert both.group_ids.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert both.rewards.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert [e.id for e in both.examples] == ["q0", "q1", "q2", "q1"]
    with torch.no_grad():
        alone = [completion_logprobs(ctx.model, b, torch.arange(len(b.rewards)))[0] for b in (first, second)]
        joint = completion_logprobs(ctx.model, both, torch.arange(8))[0]
    for part, rows in zip(alone, (slice(0, 4), slice(4, 8))):
        width = part.shape[1]
        assert torch.allclose(joint[rows, :width] * both.mask[rows, :width], part * both.mask[rows, :width], atol=1e-5)


def gradient(ctx, batch) -> torch.Tensor:
    """The GRPO token-mean gradient of one backward over the whole batch (no optimizer step)."""
    pg = PolicyGradient(ctx, PGSettings())
    ctx.model.zero_grad(set_to_none=True)
    pg.backward(batch, torch.arange(len(batch.rewards)), grpo_advantage(batch.rewards, batch.group_ids), None, None)
    return torch.cat([p.grad.flatten() for p in pg.params if p.grad is not None])


def test_dynamic_sampling_changes_the_gradient_of_a_batch_with_an_all_correct_group():
    # Group 1 is all correct: its advantages are 0, but under token_mean its tokens still count in the
    # denominator, so keeping it shrinks the mixed group's gradient by (its tokens)/(all tokens).
    ctx = tiny_context()
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    kept = select_groups(batch, (~zero_variance_groups(batch.rewards, 3)).nonzero().squeeze(-1).tolist(), 3)
    assert [e.id for e in kept.examples] == ["q0"]
    full, filtered = gradient(ctx, batch), gradient(ctx, kept)
    mixed_tokens, all_tokens = batch.mask[:3].sum(), batch.mask.sum()
    assert not torch.allclose(full, filtered)
    assert torch.allclose(full, filtered * mixed_tokens / all_tokens, atol=1e-6)


def test_selected_and_concatenated_rounds_keep_each_rollouts_truncation():
    ctx = tiny_context()
    first, second = rollout_batch(ctx, [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), rollout_batch(ctx, [[0.0, 1.0, 0.0]])
    first = replace(first, truncated=torch.tensor([True, False, False, False, True, False]))
    kept = select_groups(first, [1], 3)
    assert kept.truncated.tolist() == [False, True, False]
    both = concat_rollouts([kept, second], 3, ctx.tokenizer.pad_token_id)
    assert both.truncated.tolist() == [False, True, False, *second.truncated.tolist()]


# A base that is right ~10% of the time (tests/test_learning.py's), so groups of 4 are often all wrong.
DAPO = ["algorithm=dapo", "model.base.steps=150", "train.steps=3", "rollout.prompts_per_step=4", "rollout.n=4", "rollout.max_new_tokens=32"]


@pytest.mark.slow  # ~60 s with its base build; .ci/run runs it
def test_dapo_trains_on_no_zero_variance_group_and_its_rounds_are_reproducible():
    runner = scratch_runner(compose_config(DAPO))
    assert group_sampling(runner.session.cfg) == GroupSampling(dynamic_sampling=True, overlong_buffer=8)
    sampler = copy.deepcopy(runner.sampler)
    logged = [runner.step(step) for step in range(runner.session.cfg.train.steps)]
    assert any(m["rollout/zero_variance_groups"] > 0 for m in logged)  # there was something to filter
    for m in logged:
        assert m["train/zero_variance_groups"] == 0
        assert 1 <= m["rollout/generation_rounds"] <= 10
    assert max(m["rollout/generation_rounds"] for m in logged) > 1
    # the same step from the same sampler state and weights draws the same rounds
    fresh = scratch_runner(compose_config(DAPO))
    generate = lambda s: GroupGenerator(fresh.session, s, fresh.sampling, group_sampling(fresh.session.cfg)).generate(0)[1]
    one, two = generate(copy.deepcopy(sampler)), generate(copy.deepcopy(sampler))
    assert one.completions == two.completions and torch.equal(one.rewards, two.rewards)

    # overlong shaping and filtering on the same rounds, capped at 22 tokens (this base's answers take 21-24):
    # rewards shift by the penalty, and the completions cut at the cap lose their loss
    capped = replace(fresh.sampling, max_new_tokens=22)
    plain = GroupGenerator(fresh.session, copy.deepcopy(sampler), capped, GroupSampling()).generate(0)[1]
    options = GroupSampling(overlong_buffer=8, overlong_filter=True)
    shaped = GroupGenerator(fresh.session, copy.deepcopy(sampler), capped, options).generate(0)[1]
    lengths = plain.mask.sum(-1)
    assert (lengths > 22 - 8).any()  # some completions did run into the buffer
    assert torch.allclose(shaped.rewards - plain.rewards, overlong_shaping(lengths, 22, 8, 1.0))
    cut = plain.truncated  # the engine's: at the cap and not ended by any stop
    last = plain.completion_ids.gather(1, (lengths.long() - 1).unsqueeze(1)).squeeze(1)
    assert torch.equal(cut, (lengths == 22) & (last != fresh.session.tokenizer.eos_token_id))  # this base stops on eos only
    assert cut.any() and (~cut).any()
    assert torch.equal(shaped.mask.sum(-1) == 0, cut) and torch.equal(shaped.mask[~cut], plain.mask[~cut])


@pytest.mark.slow  # on the 150-step base the DAPO test builds
def test_grpo_keeps_every_group_and_counts_the_zero_variance_ones():
    runner = scratch_runner(compose_config([*DAPO[1:], "algorithm=grpo", "train.steps=1"]))
    metrics = runner.step(0)
    assert metrics["rollout/generation_rounds"] == 1
    assert metrics["train/zero_variance_groups"] == metrics["rollout/zero_variance_groups"]
