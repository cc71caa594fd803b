"""SuperRL: the probe's dense/sparse decision, the per-instance branch, the combined loss."""

from dataclasses import replace

import pytest
import torch

from algorithms import ADVANTAGES, ALGORITHMS
from algorithms.logprobs import target_logprobs
from algorithms.sft import demo_batch, nll_backward
from algorithms.superrl import SuperRLConfig, is_sparse
from tests.rl_helpers import FirstOfTwoRanks, all_finite, changed, example, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")


def test_switch_threshold():
    # 1 of 4 prompts rewarded = 0.25 < 0.5 -> sparse; 2 of 4 = 0.5 reaches the threshold -> dense
    assert is_sparse(torch.tensor([True, False, False, False]), 0.5)
    assert not is_sparse(torch.tensor([True, True, False, False]), 0.5)


def test_dense_probe_runs_plain_grpo_for_the_whole_run():
    ctx = tiny_context()
    superrl = ALGORITHMS.get("superrl")(SuperRLConfig(), ctx)
    dense = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # 2 of 3 prompts rewarded
    metrics = superrl.update(dense.examples, dense)
    assert (metrics["train/switch_sparse"], metrics["train/frac_pg"], metrics["train/frac_sft"]) == (0.0, 1.0, 0.0)
    hopeless = rollout_batch(ctx, [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    metrics = superrl.update(hopeless.examples, hopeless)  # the decision is not revisited
    assert (metrics["train/switch_sparse"], metrics["train/frac_sft"]) == (0.0, 0.0)
    assert "loss/sft" not in metrics


def test_sparse_probe_routes_each_instance():
    ctx = tiny_context()
    superrl = ALGORITHMS.get("superrl")(SuperRLConfig(), ctx)
    examples = [example(0), example(1), example(2, demo=None)]
    sparse = rollout_batch(ctx, [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], examples)  # 1 of 3 rewarded
    before = snapshot(ctx.model)
    metrics = superrl.update(sparse.examples, sparse)
    assert changed(before, ctx.model)
    # q0 -> GRPO; q1 -> demo NLL; q2 failed but has no demo -> neither
    assert metrics["train/switch_sparse"] == 1.0
    assert metrics["train/frac_pg"] == pytest.approx(1 / 3) and metrics["train/frac_sft"] == pytest.approx(1 / 3)
    assert "loss/sft" in metrics and "loss/pg" in metrics and all_finite(metrics)
    restored = ALGORITHMS.get("superrl")(SuperRLConfig(), tiny_context())
    restored.load_state_dict(superrl.state_dict())
    assert restored.sparse is True


def test_sparse_step_gradient_is_pg_plus_sft_coef_times_sft():
    ctx = tiny_context(mini_batch_prompts=3)  # one optimizer step over all three prompts
    superrl = ALGORITHMS.get("superrl")(SuperRLConfig(kl_coef=0.0, sft_coef=0.5), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    grads = []
    superrl.pg.step = lambda: grads.append([p.grad.clone() for p in superrl.pg.params]) or 0.0
    superrl.update(batch.examples, batch)
    superrl.pg.optimizer.zero_grad(set_to_none=True)
    # expected: GRPO loss on prompt 0's two samples + 0.5 * token-mean NLL of the demos of prompts 1 and 2
    advantages = ADVANTAGES.get("grpo")(batch.rewards, batch.group_ids)
    superrl.pg.backward(batch, torch.tensor([0, 1]), advantages, None, None)
    nll_backward(ctx.model, demo_batch(ctx, batch.examples[1:]), ctx.settings.micro_batch_size, weight=0.5)
    assert len(grads) == 1
    for got, p in zip(grads[0], superrl.pg.params):
        torch.testing.assert_close(got, p.grad)


def test_the_sft_term_backpropagates_only_this_processs_share_of_the_demonstrations():
    """Pins `parallel=` in sft_backward: on two processes rank 0 takes demo 0 of the mini-batch's 2 SFT prompts,
    its NLL over both demos' tokens; without it each rank would add both, doubling the SFT term against L_PG."""
    ctx = replace(tiny_context(micro_batch_size=1), parallel=FirstOfTwoRanks())
    superrl = ALGORITHMS.get("superrl")(SuperRLConfig(kl_coef=0.0, sft_coef=1.0), ctx)
    examples = [example(1), example(30, demo="30+2=32\n#### 32")]
    batch = demo_batch(ctx, examples)
    with torch.no_grad():
        logp, _ = target_logprobs(ctx.model, batch)
    mask = batch.target_mask
    share = float((-logp[0] * mask[0]).sum() / mask.sum())
    assert share < 0.9 * float((-logp * mask).sum() / mask.sum())
    metrics = superrl.sft_backward(examples, torch.tensor([True, True]), torch.arange(2))
    assert metrics["loss/sft"] == pytest.approx(share, rel=1e-5)


def test_the_sparse_routing_is_made_on_the_rewards_device():
    """Pins `device=` on the has-demo flags: made without it they land on the default device, which
    `torch.device("meta")` stands in for here (on a GPU run, the CPU next to CUDA rewards: the first sparse
    step fails). The real update never sees the context and routes as on the CPU."""
    ctx = tiny_context()
    superrl = ALGORITHMS.get("superrl")(SuperRLConfig(kl_coef=0.0), ctx)
    examples = [example(0), example(1), example(2, demo=None)]
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], examples)
    with torch.device("meta"):
        metrics = superrl.update(batch.examples, batch)
    assert metrics["train/frac_pg"] == pytest.approx(1 / 3) and metrics["train/frac_sft"] == pytest.approx(1 / 3)
    assert "loss/sft" in metrics and all_finite(metrics)
