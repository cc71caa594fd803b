"""ReLIFT: which questions are hardest, the buffer's order and uniqueness, the SFT trigger."""

from dataclasses import replace

import pytest
import torch

from algorithms import ALGORITHMS
from algorithms.advantages import any_rewarded
from algorithms.logprobs import target_logprobs
from algorithms.relift import DemoBuffer, ReLIFTConfig
from algorithms.sft import demo_batch
from tests.rl_helpers import FirstOfTwoRanks, all_finite, changed, example, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")


def test_any_rewarded_per_group():
    rewards = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    # group 0 has one hit, group 1 none, group 2 two
    assert any_rewarded(rewards, groups, 3).tolist() == [True, False, True]


def test_buffer_is_newest_first_and_pops_the_newest():
    buffer = DemoBuffer()
    buffer.push([example(1), example(2)])  # step 1
    buffer.push([example(3)])  # step 2: newest
    assert [e.id for e in buffer.items] == ["q3", "q1", "q2"]
    assert [e.id for e in buffer.pop(2)] == ["q3", "q1"]
    assert [e.id for e in buffer.items] == ["q2"]


def test_a_question_waits_in_the_buffer_at_most_once_and_may_return_after_training():
    buffer = DemoBuffer()
    buffer.push([example(1), example(1)])
    buffer.push([example(1), example(2)])
    assert [e.id for e in buffer.items] == ["q2", "q1"]  # q1 already waiting: no copy
    buffer.pop(2)
    buffer.push([example(1)])
    assert [e.id for e in buffer.items] == ["q1"]  # trained on, failed again: back in


def test_sft_runs_once_the_buffer_holds_sft_batch():
    ctx = tiny_context()
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_batch=2), ctx)
    # step 1: prompt q0 all fail -> buffer [q0]; 1 < 2, no SFT
    step1 = rollout_batch(ctx, [[0.0, 0.0], [1.0, 0.0]], [example(0), example(1)])
    metrics = relift.update(step1.examples, step1)
    assert (metrics["train/buffer_size"], metrics["train/sft_steps"], metrics["train/demos_used"]) == (1, 0, 0)
    assert "loss/sft" not in metrics
    # step 2: q2 and q3 fail -> buffer [q2, q3, q0] = 3 >= 2: SFT on the newest two, q0 stays
    step2 = rollout_batch(ctx, [[0.0, 0.0], [0.0, 0.0]], [example(2), example(3)])
    before = snapshot(ctx.model)
    metrics = relift.update(step2.examples, step2)
    assert changed(before, ctx.model)  # all-fail groups have A = 0: only the SFT step moves the weights
    assert (metrics["train/buffer_size"], metrics["train/sft_steps"], metrics["train/demos_used"]) == (1, 1, 2)
    assert [e.id for e in relift.buffer.items] == ["q0"]
    assert metrics["train/demos_used_frac"] == pytest.approx(2 / 4)  # q2, q3 of the 4 questions seen
    assert metrics["train/hardest_frac"] == 1.0
    assert "loss/sft" in metrics and all_finite(metrics)


def test_rl_step_changes_the_policy_and_state_round_trips():
    ctx = tiny_context()
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_batch=8), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 0.0]])
    before = snapshot(ctx.model)
    relift.update(batch.examples, batch)
    assert changed(before, ctx.model)
    fresh = ALGORITHMS.get("relift")(ReLIFTConfig(sft_batch=8), tiny_context())
    fresh.load_state_dict(relift.state_dict())
    assert fresh.buffer.items == relift.buffer.items and [e.id for e in fresh.buffer.items] == ["q1"]
    assert fresh.seen == {"q0", "q1"}


def test_rl_optimizer_follows_the_reference_script_unless_set_to_null():
    # examples/math-7b/train.sh: grad_clip 0.7, entropy 0.001; fsdp_worker.py: AdamW weight decay 1e-2.
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(), tiny_context())
    assert relift.pg.ctx.settings.grad_clip == 0.7 and relift.pg.settings.entropy_coef == 0.001
    assert relift.pg.optimizer.param_groups[0]["weight_decay"] == 0.01
    ctx = tiny_context()  # train.grad_clip 1.0, train.weight_decay 0.0
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(grad_clip=None, weight_decay=None), ctx)
    assert relift.pg.ctx.settings.grad_clip == 1.0 and relift.pg.optimizer.param_groups[0]["weight_decay"] == 0.0


def test_sft_runs_when_the_buffer_holds_exactly_sft_batch_and_counts_every_step():
    ctx = tiny_context()
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_batch=2), ctx)
    step1 = rollout_batch(ctx, [[0.0, 0.0], [0.0, 0.0]], [example(0), example(1)])
    metrics = relift.update(step1.examples, step1)  # buffer [q0, q1]: 2 = sft_batch, SFT now
    assert (metrics["train/buffer_size"], metrics["train/sft_steps"], metrics["train/demos_used"]) == (0, 1, 2)
    assert metrics["train/sft_grad_norm"] > 0
    step2 = rollout_batch(ctx, [[0.0, 0.0], [0.0, 0.0]], [example(2), example(3)])
    metrics = relift.update(step2.examples, step2)
    assert (metrics["train/buffer_size"], metrics["train/sft_steps"], metrics["train/demos_used"]) == (0, 2, 4)


def test_sft_optimizer_uses_sft_lr_without_warmup_and_the_rl_loss_is_unclipped_reinforce():
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_lr=1e-6), tiny_context(lr=1e-2))
    assert relift.sft_optimizer.param_groups[0]["lr"] == 1e-6  # the full rate from the first step
    assert relift.pg.settings.policy_loss == "reinforce"
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(), tiny_context(lr=1e-2))
    assert relift.sft_optimizer.param_groups[0]["lr"] == 1e-2  # null: train.lr


def test_the_sft_step_subtracts_its_entropy_bonus():
    # All-fail groups have A = 0 (and a 0 entropy bonus on the RL side): only the SFT step moves
    # the weights, so a large SFT entropy weight must move them elsewhere than plain NLL does.
    models = []
    for sft_entropy_coef in (0.0, 10.0):
        ctx = tiny_context()
        relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_batch=2, entropy_coef=0.0, sft_entropy_coef=sft_entropy_coef), ctx)
        batch = rollout_batch(ctx, [[0.0, 0.0], [0.0, 0.0]])
        relift.update(batch.examples, batch)
        models.append(ctx.model)
    assert changed(snapshot(models[0]), models[1])


def test_the_sft_step_trains_only_this_processs_share_of_the_demonstrations():
    """Pins `parallel=` in sft_step's nll_backward: on two processes rank 0 backpropagates demo 0 of 2, its
    NLL over the token count of both (rank 1 adds the rest); without it every rank would train on both and
    the summed gradient would count each demonstration twice."""
    ctx = replace(tiny_context(micro_batch_size=1), parallel=FirstOfTwoRanks())
    relift = ALGORITHMS.get("relift")(ReLIFTConfig(sft_entropy_coef=0.0), ctx)
    items = [example(1), example(30, demo="30+2=32\n#### 32")]
    batch = demo_batch(ctx, items)
    with torch.no_grad():
        logp, _ = target_logprobs(ctx.model, batch)
    mask = batch.target_mask
    share = float((-logp[0] * mask[0]).sum() / mask.sum())  # rank 0's part of the token-mean NLL
    assert share < 0.9 * float((-logp * mask).sum() / mask.sum())
    metrics = relift.sft_step(items)
    assert metrics["loss/sft"] == pytest.approx(share, rel=1e-5)
