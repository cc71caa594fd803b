"""PPO: token rewards, GAE, whitening and the clipped value loss by hand; one real update."""

import math

import pytest
import torch
from torch.testing import assert_close

from algorithms import ALGORITHMS
from algorithms.policy_gradient import PGSettings, PolicyGradient
from algorithms.ppo import PPOConfig, clipped_value_loss, explained_variance, gae, masked_whiten, token_rewards
from tests.rl_helpers import all_finite, changed, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


def test_token_rewards_put_the_outcome_on_the_last_real_token_minus_kl():
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 9.0]])
    rewards = token_rewards(torch.tensor([1.0, 0.0]), MASK, kl, kl_coef=0.5)
    # row 0: -0.5*[0.1, 0.2, 0.3] + [0, 0, 1] = [-0.05, -0.1, 0.85]
    # row 1: last real token is t=1; outcome 0: -0.5*[0.4, 0.5] = [-0.2, -0.25]; padding 0
    assert_close(rewards, torch.tensor([[-0.05, -0.1, 0.85], [-0.2, -0.25, 0.0]]))


def test_gae_with_gamma_lambda_one_is_return_to_go_minus_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [0.2, 0.3, 9.0]])  # 9.0 sits on padding and must not leak
    advantages, returns = gae(rewards, values, MASK, gamma=1.0, lam=1.0)
    # gamma = lambda = 1 telescopes: A_t = sum_{k>=t} r_k - V_t, returns = sum_{k>=t} r_k
    # row 0: [1 - .5, 1 - .6, 1 - .7]; row 1: [1 - .2, 1 - .3, pad 0]
    assert_close(advantages, torch.tensor([[0.5, 0.4, 0.3], [0.8, 0.7, 0.0]]))
    assert_close(returns, torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]))


def test_gae_discounted():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7]])
    advantages, returns = gae(rewards, values, torch.ones(1, 3), gamma=0.5, lam=0.5)
    # t=2: delta = 1 + 0.5*0 - 0.7 = 0.3                 A2 = 0.3
    # t=1: delta = 0 + 0.5*0.7 - 0.6 = -0.25             A1 = -0.25 + 0.25*0.3 = -0.175
    # t=0: delta = 0 + 0.5*0.6 - 0.5 = -0.2              A0 = -0.2 + 0.25*(-0.175) = -0.24375
    assert advantages.tolist()[0] == pytest.approx([-0.24375, -0.175, 0.3])
    assert returns.tolist()[0] == pytest.approx([0.25625, 0.425, 1.0])  # A + V


def test_masked_whiten_uses_real_tokens_only():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 100.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    # real values 1, 2, 3, 4: mean 2.5, unbiased var (2.25 + .25 + .25 + 2.25) / 3 = 5/3
    s = math.sqrt(5 / 3 + 1e-8)
    expected = [[-1.5 / s, -0.5 / s, 0.5 / s], [1.5 / s, 0.0, 0.0]]
    assert_close(masked_whiten(x, mask), torch.tensor(expected))


def test_clipped_value_loss_hand_values():
    values = torch.tensor([[1.0, 0.0, 1.0]])
    old = torch.zeros(1, 3)
    returns = torch.tensor([[0.0, 1.0, 2.0]])
    loss, clipped = clipped_value_loss(values, old, returns, clip=0.5)
    # V=1, R=0: unclipped (1-0)^2 = 1; clipped V=0.5: (0.5-0)^2 = .25; 0.5*max = 0.5
    # V=0, R=1: both (0-1)^2 = 1 -> 0.5 (a tie is not clipped)
    # V=1, R=2: unclipped (1-2)^2 = 1; clipped (0.5-2)^2 = 2.25 wins -> 1.125
    assert loss.tolist()[0] == pytest.approx([0.5, 0.5, 1.125])
    assert clipped.tolist()[0] == [0.0, 0.0, 1.0]


def test_explained_variance():
    returns = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    mask = torch.ones(1, 4)
    assert explained_variance(returns, returns, mask) == pytest.approx(1.0)  # perfect critic
    assert explained_variance(torch.zeros(1, 4), returns, mask) == pytest.approx(0.0, abs=1e-4)  # 1 - var(R)/var(R)


def test_policy_gradient_accepts_token_level_advantages():
    # [N] advantages and the same values spread over [N, T] give the same gradient.
    ctx = tiny_context()
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    pg = PolicyGradient(ctx, PGSettings())
    adv = torch.tensor([1.0, -1.0, -0.5, 0.5])
    samples = torch.arange(4)
    grads = []
    for a in (adv, adv[:, None].expand_as(batch.mask)):
        pg.backward(batch, samples, a, None, None)
        grads.append([p.grad.clone() for p in pg.params])
        pg.optimizer.zero_grad(set_to_none=True)
    assert all(torch.allclose(g1, g2) for g1, g2 in zip(*grads))


@pytest.mark.parametrize("critic", ["separate", "head"])
def test_ppo_update_trains_policy_and_critic(critic):
    ctx = tiny_context(mini_batch_prompts=1)
    ppo = ALGORITHMS.get("ppo")(PPOConfig(critic=critic), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    policy, head = snapshot(ctx.model), snapshot(ppo.critic.head)
    metrics = ppo.update(batch.examples, batch)
    assert changed(policy, ctx.model) and changed(head, ppo.critic.head)
    expected = ("loss/value", "loss/pg", "train/explained_variance", "train/value_clip_frac", "train/clip_frac", "train/reward_kl")
    for key in expected:
        assert key in metrics, key
    assert all_finite(metrics)
    ppo.load_state_dict(ppo.state_dict())


def test_ppo_separate_critic_does_not_share_weights_and_rejects_unknown_modes():
    ctx = tiny_context()
    ppo = ALGORITHMS.get("ppo")(PPOConfig(), ctx)
    policy_ids = {id(p) for p in ctx.model.parameters()}
    assert not policy_ids & {id(p) for p in ppo.critic.parameters()}
    with pytest.raises(ValueError, match="separate, head"):
        ALGORITHMS.get("ppo")(PPOConfig(critic="shared"), ctx)
