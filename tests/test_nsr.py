"""PSR / NSR / W-REINFORCE: advantages, keep rules and one real update each."""

from dataclasses import replace

import pytest
import torch

from algorithms import ADVANTAGES, ALGORITHMS
from algorithms.logprobs import target_logprobs
from algorithms.nsr import KEEP_RULES, NSRConfig, PSRConfig, WReinforceConfig, bound_advantage
from tests.rl_helpers import all_finite, changed, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

REWARDS = torch.tensor([1.0, 0.0, 1.0, 0.0])
GROUPS = torch.tensor([0, 0, 1, 1])


def test_psr_nsr_advantages_are_signs_without_baseline():
    # no group mean is subtracted: a correct sample is +1 even in an all-correct group
    assert ADVANTAGES.get("psr")(REWARDS, GROUPS).tolist() == [1.0, 0.0, 1.0, 0.0]
    assert ADVANTAGES.get("nsr")(REWARDS, GROUPS).tolist() == [0.0, -1.0, 0.0, -1.0]


def test_w_reinforce_weights_correct_samples_by_lambda():
    assert ADVANTAGES.get("w_reinforce")(REWARDS, GROUPS).tolist() == pytest.approx([0.1, -1.0, 0.1, -1.0])  # default lambda
    assert bound_advantage(WReinforceConfig(lam=0.5))(REWARDS, GROUPS).tolist() == [0.5, -1.0, 0.5, -1.0]


def test_keep_rules_subset_the_batch():
    assert KEEP_RULES["psr"](REWARDS).tolist() == [True, False, True, False]
    assert KEEP_RULES["nsr"](REWARDS).tolist() == [False, True, False, True]
    assert KEEP_RULES["w_reinforce"](REWARDS).tolist() == [True, True, True, True]


@pytest.mark.parametrize("config, kept", [(PSRConfig(), 2 / 6), (NSRConfig(), 4 / 6), (WReinforceConfig(), 1.0)])
def test_one_update_changes_the_policy(config, kept):
    ctx = tiny_context()
    algorithm = ALGORITHMS.get(config.name)(config, ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    before = snapshot(ctx.model)
    metrics = algorithm.update(batch.examples, batch)
    assert changed(before, ctx.model)
    assert metrics["train/kept_frac"] == pytest.approx(kept)
    assert all_finite(metrics)
    algorithm.load_state_dict(algorithm.state_dict())


def test_nsr_on_an_all_correct_batch_leaves_the_policy_alone():
    ctx = tiny_context()
    nsr = ALGORITHMS.get("nsr")(NSRConfig(), ctx)
    batch = rollout_batch(ctx, [[1.0, 1.0], [1.0, 1.0]])
    before = snapshot(ctx.model)
    assert nsr.update(batch.examples, batch) == {"train/kept_frac": 0.0}
    assert not changed(before, ctx.model)


def test_nsr_gradient_lowers_the_likelihood_of_incorrect_samples():
    # With A = -1 on the only kept (incorrect) samples, one small step lowers their log-probability.
    ctx = tiny_context(lr=1e-3)
    nsr = ALGORITHMS.get("nsr")(NSRConfig(entropy_coef=0.0), ctx)
    batch = rollout_batch(ctx, [[0.0, 1.0], [0.0, 1.0]])
    incorrect = torch.tensor([0, 2])

    def logp() -> float:
        with torch.no_grad():
            values, _ = target_logprobs(ctx.model, batch.sequences.select(incorrect))
        return float((values * batch.mask[incorrect]).sum())

    before = logp()
    nsr.update(batch.examples, batch)
    assert logp() < before


def test_kept_frac_is_what_dash_filtering_left():
    # W-REINFORCE keeps all 4 samples, but with tau = 0.1 the correct ones (|A| = lam = 0.1, not > 0.1)
    # are filtered before the backward pass: 1 incorrect of 4 trains, so kept_frac = 1/4 (not the keep rule's 4/4).
    ctx = tiny_context()
    ctx = replace(ctx, settings=replace(ctx.settings, grad_filter_tau=0.1))
    algorithm = ALGORITHMS.get("w_reinforce")(WReinforceConfig(), ctx)
    batch = rollout_batch(ctx, [[1.0, 1.0], [1.0, 0.0]])
    assert algorithm.update(batch.examples, batch)["train/kept_frac"] == pytest.approx(1 / 4)
