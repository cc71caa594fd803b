"""PPO: token rewards, GAE, whitening and the clipped value loss by hand; one real update."""

import copy
import math
from dataclasses import replace

import pytest
import torch
from torch.testing import assert_close

from algorithms import ALGORITHMS
from algorithms.logprobs import target_logprobs
from algorithms.parallel import SINGLE
from algorithms.losses import ClipSettings
from algorithms.policy_gradient import PGSettings, PolicyGradient
from algorithms.precision import set_compute_dtype
from algorithms.ppo import PPOConfig, build_critic, clipped_value_loss, explained_variance, gae, masked_whiten, token_rewards
from tests.rl_helpers import all_finite, changed, rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")

MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


def test_token_rewards_put_the_outcome_on_the_last_real_token_minus_kl():
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 9.0]])
    rewards = token_rewards(torch.tensor([1.0, 0.0]), MASK, kl, kl_coef=0.5)
    # row 0: -0.5*[0.1, 0.2, 0.3] + [0, 0, 1] = [-0.05, -0.1, 0.85]
    # row 1: last real token is t=1; outcome 0: -0.5*[0.4, 0.5] = [-0.2, -0.25]; padding 0
    assert_close(rewards, torch.tensor([[-0.05, -0.1, 0.85], [-0.2, -0.25, 0.0]]))


def test_a_one_token_completion_gets_its_outcome_on_that_token():
    rewards = token_rewards(torch.tensor([1.0, 1.0]), torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.zeros(2, 2), kl_coef=0.5)
    assert rewards.tolist() == [[1.0, 0.0], [0.0, 1.0]]


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


def test_gae_carries_value_and_advantage_through_padding_between_real_tokens():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 9.0, 0.7]])
    advantages, returns = gae(rewards, values, torch.tensor([[1.0, 0.0, 1.0]]), gamma=1.0, lam=1.0)
    # t=2: A = 1 - .7 = .3, next V = .7; t=1 (padding) passes both on unchanged;
    # t=0: delta = 0 + .7 - .5 = .2, A = .2 + .3 = .5; returns = A + V on real tokens
    assert advantages.tolist()[0] == pytest.approx([0.5, 0.0, 0.3])
    assert returns.tolist()[0] == pytest.approx([1.0, 0.0, 1.0])


def test_gae_of_one_token_completions():
    advantages, returns = gae(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.25], [0.5]]), torch.ones(2, 1), gamma=1.0, lam=1.0)
    assert advantages.tolist() == [[0.75], [-0.5]] and returns.tolist() == [[1.0], [0.0]]


def test_masked_whiten_uses_real_tokens_only():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 100.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    # real values 1, 2, 3, 4: mean 2.5, unbiased var (2.25 + .25 + .25 + 2.25) / 3 = 5/3
    s = math.sqrt(5 / 3 + 1e-8)
    expected = [[-1.5 / s, -0.5 / s, 0.5 / s], [1.5 / s, 0.0, 0.0]]
    assert_close(masked_whiten(x, mask), torch.tensor(expected))


def test_masked_whiten_of_two_values_and_of_a_constant():
    # [1, 3]: mean 2, unbiased var (1 + 1) / 1 = 2
    s = math.sqrt(2 + 1e-8)
    assert_close(masked_whiten(torch.tensor([[1.0, 3.0]]), torch.ones(1, 2)), torch.tensor([[-1 / s, 1 / s]]))
    # no spread: eps keeps 0 / sqrt(0 + eps) at 0, never NaN
    assert masked_whiten(torch.full((1, 3), 0.5), torch.ones(1, 3)).tolist() == [[0.0, 0.0, 0.0]]


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


def test_clipped_value_loss_clips_below_too():
    # V = -1 from V_old = 0 clips to -0.5; R = -2: unclipped (-1+2)^2 = 1, clipped (-0.5+2)^2 = 2.25 wins
    loss, clipped = clipped_value_loss(torch.tensor([[-1.0]]), torch.zeros(1, 1), torch.tensor([[-2.0]]), clip=0.5)
    assert loss.tolist() == [[1.125]] and clipped.tolist() == [[1.0]]


def test_a_value_inside_the_clip_range_is_never_counted_as_clipped():
    # here V_old + (V - V_old) rounds to the float beside V, and its loss is the larger one
    values, old, returns = torch.tensor([[-0.004338787868618965]]), torch.tensor([[-0.04201517626643181]]), torch.tensor([[0.016228364780545235]])
    assert old + (values - old) != values
    loss, clipped = clipped_value_loss(values, old, returns, clip=0.2)
    assert clipped.tolist() == [[0.0]] and loss.tolist() == [[0.5 * float((values - returns) ** 2)]]


def test_explained_variance_skips_padding_and_keeps_its_guard_positive():
    returns = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    values = torch.tensor([[1.0, 2.0, 3.0, 0.0]])  # perfect on real tokens, far off on padding
    assert explained_variance(values, returns, torch.tensor([[1.0, 1.0, 1.0, 0.0]])) == pytest.approx(1.0)
    # constant returns (Var = 0): residual [1, 1, 1, 0] has unbiased var 0.25, so 1 - 0.25 / 1e-5
    flat = torch.ones(1, 4)
    assert explained_variance(torch.tensor([[0.0, 0.0, 0.0, 1.0]]), flat, torch.ones(1, 4)) == pytest.approx(1 - 0.25 / 1e-5, rel=1e-4)


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


def test_ppo_passes_its_clip_loss_entropy_and_epochs_to_the_policy_update_and_keeps_kl_in_the_reward():
    config = PPOConfig(eps_low=0.1, eps_high=0.3, dual_clip=3.0, loss_agg="seq_mean_token_mean", entropy_coef=0.01, ppo_epochs=2)
    ppo = ALGORITHMS.get("ppo")(config, tiny_context())
    assert ppo.pg.settings == PGSettings(
        policy_loss="clip", clip=ClipSettings(0.1, 0.3, 3.0), loss_agg="seq_mean_token_mean", kl_coef=0.0, entropy_coef=0.01, ppo_epochs=2
    )
    assert ppo.pg.reference is None  # no KL loss: the KL lives in the reward
    assert ppo.reference is not None and not any(p.requires_grad for p in ppo.reference.parameters())  # kl_coef 0.001
    assert ALGORITHMS.get("ppo")(PPOConfig(kl_coef=0.0), tiny_context()).reference is None
    assert ppo.critic_optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 * 10.0)  # critic_lr_mult x train.lr


def test_ppo_reports_the_token_means_of_reward_kl_and_old_values():
    ctx = tiny_context()
    ppo = ALGORITHMS.get("ppo")(PPOConfig(kl_coef=0.1), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    ppo.update(batch.examples, batch)  # the policy moves off the reference, the critic off its start
    mask = batch.mask.float()
    kl = ppo.reward_kl(batch) * mask
    values = ppo.critic.all_values(batch, 4, SINGLE)
    assert float(kl.abs().sum()) > 0
    metrics = ppo.update(batch.examples, batch)
    assert metrics["train/reward_kl"] == pytest.approx(float(kl.sum() / mask.sum()), rel=1e-5)
    assert metrics["train/value_mean"] == pytest.approx(float((values * mask).sum() / mask.sum()), rel=1e-5)


def test_value_step_token_means_over_micro_batches_by_hand():
    # old values V - 1 clip the new V to V - 0.5; returns V + 2: unclipped (V - R)^2 = 4, clipped 2.5^2 = 6.25 wins
    # on every token, so the token-mean loss is 0.5 * 6.25 and the clip fraction 1, however the micro-batches split.
    ctx = tiny_context(micro_batch_size=1)
    ppo = ALGORITHMS.get("ppo")(PPOConfig(), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    values = ppo.critic.all_values(batch, 4, SINGLE)
    metrics = ppo.value_step(batch, values - 1.0, values + 2.0, torch.arange(2))
    assert metrics["loss/value"] == pytest.approx(3.125, rel=1e-5)
    assert metrics["train/value_clip_frac"] == pytest.approx(1.0, rel=1e-5)
    assert metrics["train/critic_grad_norm"] == 0.0  # the clipped term is flat in V: no gradient reaches the critic
    with pytest.raises(FloatingPointError, match=r"^non-finite value loss \(inf\)$"):
        ppo.value_step(batch, values, torch.full_like(values, math.inf), torch.arange(2))


def test_value_step_of_a_mini_batch_with_one_real_token_divides_by_one():
    ctx = tiny_context()
    ppo = ALGORITHMS.get("ppo")(PPOConfig(), ctx)
    batch = rollout_batch(ctx, [[1.0]])
    one_token = torch.zeros_like(batch.mask)
    one_token[0, 0] = 1.0
    batch = replace(batch, sequences=replace(batch.sequences, target_mask=one_token))
    values = ppo.critic.all_values(batch, 4, SINGLE)
    metrics = ppo.value_step(batch, values - 1.0, values + 2.0, torch.arange(1))  # 0.5 * 2.5^2 on that token
    assert metrics["loss/value"] == pytest.approx(3.125, rel=1e-5)


def test_ppo_head_critic_shares_the_policy_trunk_and_owns_only_its_small_head():
    ctx = tiny_context()
    ppo = ALGORITHMS.get("ppo")(PPOConfig(critic="head"), ctx)
    assert ppo.critic.backbone is ctx.model.base_model and ppo.owned is ppo.critic.head
    std = ctx.model.config.initializer_range  # 0.02: the head starts as a token-classification head
    head = ppo.critic.head
    assert float(head.weight.detach().abs().max()) < 6 * std and float(head.bias.detach().abs().max()) == 0.0


def test_the_value_head_takes_the_policy_dtype():
    policy = tiny_context().model.to(torch.bfloat16)
    critic, _ = build_critic(policy, "separate")
    assert critic.head.weight.dtype == torch.bfloat16


def moved_ppo(**config) -> tuple[object, object]:
    """A PPO with a live KL reference, its policy moved off that reference, and a 2 x 2 batch."""
    ctx = tiny_context()
    ppo = ALGORITHMS.get("ppo")(PPOConfig(kl_coef=0.1, **config), ctx)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in ctx.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return ppo, rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])


def test_reward_kl_is_each_samples_own_k1_to_the_reference():
    """Pins reward_kl's rows: sample i's KL is log pi(y_i) - log pi_ref(y_i) of its own completion (one plain
    full-sequence forward of each model here), not another sample's of the same prompt."""
    ppo, batch = moved_ppo()
    with torch.no_grad():
        logp, _ = target_logprobs(ppo.ctx.model, batch.sequences, ppo.ctx.settings.temperature)
        ref, _ = target_logprobs(ppo.reference, batch.sequences, ppo.ctx.settings.temperature)
    mask = batch.mask
    expected = (logp - ref) * mask
    assert float(expected.abs().sum()) > 1e-3 and not torch.allclose(expected[0], expected[1])
    assert_close(ppo.reward_kl(batch) * mask, expected, atol=1e-5, rtol=1e-4)


def test_reward_kl_and_the_value_head_are_made_on_the_policys_device():
    """Pins `device=` on reward_kl's row index and on the value head: a tensor made without it lands on the
    default device, which `torch.device("meta")` stands in for here (on a GPU run it is the CPU, and the
    first update fails). The real code never sees the context: KL and head stay on the CPU."""
    ppo, batch = moved_ppo()
    expected = ppo.reward_kl(batch)
    policy = tiny_context().model
    with torch.device("meta"):
        kl = ppo.reward_kl(batch)
        heads = [build_critic(policy, mode)[0].head for mode in ("separate", "head")]
    assert kl.device.type == "cpu"
    assert_close(kl, expected)
    assert all(p.device.type == "cpu" for head in heads for p in head.parameters())


def test_a_lora_policys_critic_reads_its_transformer_and_its_reference_turns_the_adapters_off():
    """Pins algorithms/reference.py on a real peft policy: `causal_lm` unwraps it, so the critic's backbone
    is the Qwen2 transformer (with its LoRA layers) and yields values; the KL reference is the same module
    with adapters disabled, so the reward KL is log pi(adapted) - log pi(base), with no second copy."""
    pytest.importorskip("peft")
    from algorithms.reference import AdaptersDisabled, causal_lm, is_peft_model
    from bench.config import LoraConfig
    from bench.lora import with_lora

    ctx = tiny_context()
    base = copy.deepcopy(ctx.model)
    policy = with_lora(ctx.model, LoraConfig(r=2, alpha=4.0, target_modules=["q_proj", "v_proj"]))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # B != 0: the adapters change the policy's outputs
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
    ctx = replace(ctx, model=policy)
    assert is_peft_model(policy) and not is_peft_model(base)
    assert causal_lm(policy) is policy.get_base_model() and causal_lm(base) is base
    ppo = ALGORITHMS.get("ppo")(PPOConfig(kl_coef=0.1, critic="head"), ctx)
    assert isinstance(ppo.reference, AdaptersDisabled) and ppo.reference.policy is policy
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    values = ppo.critic(batch, torch.arange(4))
    assert values.shape == batch.mask.shape and bool(torch.isfinite(values).all())
    with torch.no_grad():
        logp, _ = target_logprobs(policy, batch.sequences)
        base_logp, _ = target_logprobs(base, batch.sequences)
    expected = (logp - base_logp) * batch.mask
    assert float(expected.abs().sum()) > 1e-3
    assert_close(ppo.reward_kl(batch) * batch.mask, expected, atol=1e-5, rtol=1e-4)


def test_the_adapters_off_reference_takes_positional_inputs_and_survives_a_copy():
    """Pins AdaptersDisabled: a positional call reaches the base model (adapters off), and a copy (built
    without __init__, so `policy` is looked up before it is set) raises AttributeError, not a recursion."""
    pytest.importorskip("peft")
    from algorithms.reference import AdaptersDisabled
    from bench.config import LoraConfig
    from bench.lora import with_lora

    ctx = tiny_context()
    base = copy.deepcopy(ctx.model)
    policy = with_lora(ctx.model, LoraConfig(r=2, alpha=4.0, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():  # B != 0: the adapters change the policy's outputs
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.fill_(0.5)
    reference = AdaptersDisabled(policy)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert not torch.allclose(policy(ids).logits, base(ids).logits, atol=1e-4)
        assert_close(reference(ids).logits, base(ids).logits, atol=1e-5, rtol=1e-5)
    twin = copy.copy(reference)
    assert twin.policy is policy and twin.training == policy.training  # attributes read through to the policy


def test_a_boolean_outcome_is_a_reward_of_one_or_zero():
    """The outcome takes the mask's dtype before it is scattered onto the last token."""
    rewards = token_rewards(torch.tensor([True, False]), MASK, torch.zeros_like(MASK), kl_coef=0.0)
    assert rewards.dtype == MASK.dtype and rewards.sum(-1).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("mode", ["separate", "head"])
def test_the_critic_computes_in_the_policys_compute_dtype_over_fp32_weights(mode):
    ctx = tiny_context()
    set_compute_dtype(ctx.model, torch.bfloat16)
    critic, _ = build_critic(ctx.model, mode)
    seen = []
    for linear in (critic.backbone.layers[0].self_attn.q_proj, critic.head):  # the residual stream stays fp32, the matmuls do not
        linear.register_forward_hook(lambda module, inputs, out: seen.append(out.dtype))
    values = critic(rollout_batch(ctx, [[1.0, 0.0]]), torch.arange(2))
    assert len(seen) >= 2 and set(seen) == {torch.bfloat16}
    assert values.dtype == torch.float32 and all(p.dtype == torch.float32 for p in critic.parameters())
