"""SuperRL: the probe's dense/sparse decision, the per-instance branch, the combined loss."""

import pytest
import torch

from algorithms import ADVANTAGES, ALGORITHMS
from algorithms.sft import demo_batch, nll_backward
from algorithms.superrl import SuperRLConfig, is_sparse
from tests.rl_helpers import all_finite, changed, example, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

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
