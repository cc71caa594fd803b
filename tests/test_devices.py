"""Every tensor the pure functions create lives on their inputs' device.

A missing `device=` is invisible on a CPU-only machine, where everything is on the
CPU, and fails at the first update on a GPU. Two checks catch it here: functions run
on `meta` tensors (no data; any CPU tensor they create meets a meta one and fails),
and, for the functions whose output shape depends on the data (`torch.unique`, boolean
indexing), which meta tensors cannot run, CPU inputs under `torch.device("meta")`,
which makes every factory call without `device=` build a meta tensor instead.
"""

from __future__ import annotations

import pytest
import torch

from algorithms.advantages import any_rewarded, dr_grpo_advantage, grpo_advantage
from algorithms.chunked_softmax import chosen_logprobs
from algorithms.group_sampling import overlong_shaping, zero_variance_groups
from algorithms.losses import AGG_MODES, ClipSettings, agg_loss, clipped_surrogate, importance_weighted, kl_k1, kl_k2, kl_k3
from algorithms.nsr import keep_all, keep_correct, keep_incorrect, nsr_advantage, psr_advantage, w_reinforce_advantage
from algorithms.policy_gradient import filter_by_advantage
from algorithms.ppo import clipped_value_loss, explained_variance, gae, masked_whiten, token_rewards
from algorithms.stops import length_mask
from tests.rl_helpers import rollout_batch, tiny_context

N, T, V = 6, 5, 7
CLIP = ClipSettings(eps_low=0.2, eps_high=0.28, dual_clip=3.0)


def inputs(device: str) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    cpu = {
        "rewards": torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
        "groups": torch.arange(2).repeat_interleave(3),
        "logp": -torch.rand(N, T, generator=generator),
        "old": -torch.rand(N, T, generator=generator),
        "adv": torch.randn(N, T, generator=generator),
        "mask": (torch.arange(T) < torch.tensor([5, 3, 1, 4, 2, 5])[:, None]).float(),
        "lengths": torch.tensor([5, 3, 1, 4, 2, 5]),
        "logits": torch.randn(N, T, V, generator=generator),
        "targets": torch.randint(0, V, (N, T), generator=generator),
    }
    return {k: v.to(device) for k, v in cpu.items()}


SHAPE_STATIC = {
    **{f"agg_loss {mode}": lambda x, mode=mode: agg_loss(x["logp"], x["mask"], mode, num_tokens=x["mask"].sum(), num_seqs=6.0, norm_len=5.0) for mode in AGG_MODES},
    **{f"agg_loss {mode}, own counts": lambda x, mode=mode: agg_loss(x["logp"], x["mask"], mode) for mode in AGG_MODES},
    "clipped_surrogate": lambda x: clipped_surrogate(x["logp"], x["old"], x["adv"], CLIP),
    "importance_weighted": lambda x: importance_weighted(x["logp"], x["old"], x["adv"], CLIP),
    "kl_k1": lambda x: kl_k1(x["logp"], x["old"]),
    "kl_k2": lambda x: kl_k2(x["logp"], x["old"]),
    "kl_k3": lambda x: kl_k3(x["logp"], x["old"]),
    "psr_advantage": lambda x: psr_advantage(x["rewards"], x["groups"]),
    "nsr_advantage": lambda x: nsr_advantage(x["rewards"], x["groups"]),
    "w_reinforce_advantage": lambda x: w_reinforce_advantage(x["rewards"], x["groups"]),
    "keep rules": lambda x: torch.stack([keep_all(x["rewards"]), keep_correct(x["rewards"]), keep_incorrect(x["rewards"])]),
    "any_rewarded": lambda x: any_rewarded(x["rewards"], x["groups"], 2),
    "zero_variance_groups": lambda x: zero_variance_groups(x["rewards"], 3),
    "overlong_shaping": lambda x: overlong_shaping(x["lengths"], 5, 2, 1.0),
    "length_mask": lambda x: length_mask(x["lengths"], T),
    "token_rewards": lambda x: token_rewards(x["rewards"], x["mask"], x["old"], 0.1),
    "gae": lambda x: gae(x["adv"], x["old"], x["mask"], 1.0, 0.95),
    "masked_whiten": lambda x: masked_whiten(x["adv"], x["mask"]),
    "clipped_value_loss": lambda x: clipped_value_loss(x["adv"], x["old"], x["logp"], 0.5),
    "chosen_logprobs": lambda x: chosen_logprobs(x["logits"], x["targets"], 0.7, True),
}
DATA_DEPENDENT = {
    "grpo_advantage": lambda x: grpo_advantage(x["rewards"], x["groups"]),
    "dr_grpo_advantage": lambda x: dr_grpo_advantage(x["rewards"], x["groups"]),
    "filter_by_advantage": lambda x: filter_by_advantage(x["adv"], x["rewards"] > 0, 0.5),
    "filter_by_advantage, none passes": lambda x: filter_by_advantage(x["adv"][:, 0], x["rewards"] > 0, 100.0),
    "explained_variance": lambda x: x["adv"].new_tensor(explained_variance(x["adv"], x["old"], x["mask"])),
}


def tensors(result) -> list[torch.Tensor]:
    items = result if isinstance(result, tuple) else (result,)
    return [t for t in items if isinstance(t, torch.Tensor)]


@pytest.mark.parametrize("name", list(SHAPE_STATIC))
def test_runs_on_meta_tensors(name):
    result = tensors(SHAPE_STATIC[name](inputs("meta")))
    assert result and all(t.device.type == "meta" for t in result)


@pytest.mark.parametrize("name", list(SHAPE_STATIC) + list(DATA_DEPENDENT))
def test_creates_no_tensor_off_its_inputs_device(name):
    function = {**SHAPE_STATIC, **DATA_DEPENDENT}[name]
    x = inputs("cpu")
    expected = tensors(function(x))
    with torch.device("meta"):
        got = tensors(function(x))
    assert all(t.device.type == "cpu" for t in got)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b)


def test_a_batch_moves_every_tensor_and_keeps_its_text_and_layout():
    """`RolloutBatch.to` (the step's rollouts sent between processes and back to the compute device)
    moves each tensor, its sequences' too, and carries the rest unchanged."""
    batch = rollout_batch(tiny_context(), [[1.0, 0.0], [0.0, 0.0]])
    moved = batch.to("meta")
    for name in ("sample_logprobs", "rewards", "correct", "group_ids", "truncated"):
        assert getattr(moved, name).device.type == "meta" and getattr(moved, name).shape == getattr(batch, name).shape, name
    for name in ("input_ids", "attention_mask", "target_mask"):
        assert getattr(moved.sequences, name).device.type == "meta", name
    assert moved.sequences.target_start == batch.sequences.target_start
    assert (moved.examples, moved.completions) == (batch.examples, batch.completions)
    back = batch.to("cpu")
    assert torch.equal(back.sequences.input_ids, batch.sequences.input_ids) and torch.equal(back.rewards, batch.rewards)
