"""Every term of the shared losses, pinned against a loss written out by hand in this file.

The reference computations below share nothing with the code under test beyond the model:
log-probs come from one plain forward over the full sequences with logits / temperature, and
each loss is the formula from verl's core_algos written inline. A flipped sign (entropy bonus,
KL, SFT NLL, value loss), a changed normaliser, a dropped temperature, stored old log-probs
ignored, a live KL reference or PPO's whitening removed all change a gradient compared here.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import replace

import pytest
import torch

from algorithms import ALGORITHMS
from algorithms.advantages import grpo_advantage
from algorithms.batch import tokenize_demos
from algorithms.context import clip_and_step
from algorithms.grpo import GRPOConfig, pg_settings
from algorithms.losses import ClipSettings
from algorithms.parallel import SINGLE
from algorithms.policy_gradient import PGSettings, PolicyGradient
from algorithms.ppo import PPOConfig, gae, masked_whiten
from algorithms.sft import SFTConfig, demo_batch, nll_backward
from algorithms.superrl import SuperRLConfig
from algorithms.stops import Stops, length_mask
from tests.rl_helpers import FirstOfTwoRanks, example, rollout_batch, single_thread, tiny_context  # noqa: F401

pytestmark = pytest.mark.usefixtures("single_thread")
TEMPERATURE = 0.7
MAX_NEW_TOKENS = 10  # Dr. GRPO's constant; rollout_batch pads completions to 6, so the two differ


def plain_logprobs(model, sequences, start: int, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`[N, L - start]` log-probs and entropies of tokens start.. from one full-sequence forward."""
    positions = (sequences.attention_mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=sequences.input_ids, attention_mask=sequences.attention_mask, position_ids=positions).logits
    logits = logits[:, start - 1 : -1].float() / temperature
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, sequences.input_ids[:, start:, None]).squeeze(-1)
    return logp, -(logp_all.exp() * logp_all).sum(-1)


def context(**settings):
    ctx = tiny_context(lr=3e-2, mini_batch_prompts=1, micro_batch_size=2)
    return replace(ctx, settings=replace(ctx.settings, grad_clip=0.0, temperature=TEMPERATURE, max_new_tokens=MAX_NEW_TOKENS, **settings))


def record_steps(optimizer, modules):
    """Before each optimizer step: the gradients it applies and the weights they were computed at."""
    seen = []

    def hook(opt, args, kwargs):
        params = [p for group in opt.param_groups for p in group["params"]]
        seen.append(([p.grad.clone() for p in params], [copy.deepcopy(m) for m in modules]))

    optimizer.register_step_pre_hook(hook)
    return seen


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm"])
def test_two_mini_batches_of_micro_batches_give_the_hand_written_full_batch_gradients(loss_agg):
    # 2 prompts x 3 samples; mini-batch = 1 prompt (2 optimizer steps), micro-batch = 2 sequences (2 per mini-batch).
    ctx = context()
    settings = PGSettings(clip=ClipSettings(eps_low=0.1, eps_high=0.3), loss_agg=loss_agg, kl_coef=0.5, entropy_coef=0.1)
    pg = PolicyGradient(ctx, settings)  # its KL reference: the policy as it is now
    reference = copy.deepcopy(ctx.model)
    with torch.no_grad():  # move the policy away from the reference, so the KL term has a gradient
        for p in ctx.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    start_policy = copy.deepcopy(ctx.model)
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    advantages = grpo_advantage(batch.rewards, batch.group_ids)
    steps = record_steps(pg.optimizer, [ctx.model])
    metrics = pg.update(batch, advantages, torch.ones(6, dtype=torch.bool))
    assert len(steps) == 2
    start = batch.sequences.target_start
    logged = defaultdict(list)  # what each mini-batch should report; the update logs their means
    for prompt, (grads, (policy,)) in enumerate(steps):
        rows = torch.arange(3 * prompt, 3 * prompt + 3)
        part = batch.sequences.select(rows)
        mask = part.target_mask
        logp, entropy = plain_logprobs(policy, part, start, TEMPERATURE)
        with torch.no_grad():
            old, _ = plain_logprobs(start_policy, part, start, TEMPERATURE)  # stored before the first step
            ref, _ = plain_logprobs(reference, part, start, TEMPERATURE)
        if prompt == 1:
            assert not torch.allclose(logp * mask, old * mask)  # the policy moved: the ratio is not 1
        a = advantages[rows, None]
        ratio = torch.exp(logp - old)
        pg_mat = torch.maximum(-a * ratio, -a * ratio.clamp(1 - 0.1, 1 + 0.3))
        d = ref - logp
        kl_mat = torch.exp(d) - d - 1  # k3
        if loss_agg == "token_mean":  # one sum over the mini-batch's tokens / its token count
            agg = lambda m: (m * mask).sum() / mask.sum()
        elif loss_agg == "seq_mean_token_mean":  # each sequence's token mean, averaged over its 3 sequences
            agg = lambda m: ((m * mask).sum(-1) / mask.sum(-1)).mean()
        else:  # Dr. GRPO: token sums / the constant 10 (not the padded width 6), averaged over sequences
            agg = lambda m: ((m * mask).sum(-1) / MAX_NEW_TOKENS).mean()
        loss = agg(pg_mat) - 0.1 * agg(entropy) + 0.5 * agg(kl_mat)
        expected = torch.autograd.grad(loss, list(policy.parameters()), allow_unused=True)
        for got, want in zip(grads, expected):
            torch.testing.assert_close(got, want if want is not None else torch.zeros_like(got), atol=1e-6, rtol=1e-4)
        tokens = mask.sum()
        clipped = (-a * ratio.clamp(1 - 0.1, 1 + 0.3) > -a * ratio).float()
        for key, value in {
            "loss/pg": agg(pg_mat), "loss/entropy": agg(entropy), "loss/kl": agg(kl_mat),
            "train/clip_frac": (clipped * mask).sum() / tokens, "train/ratio_mean": (ratio * mask).sum() / tokens,
            "train/grad_norm": torch.sqrt(sum((g**2).sum() for g in grads)),
        }.items():
            logged[key].append(float(value.detach()))
    assert max(logged["train/clip_frac"]) > 0 and logged["train/ratio_mean"][1] != pytest.approx(1.0)  # both terms are live
    for key, values in logged.items():
        assert metrics[key] == pytest.approx(sum(values) / 2, rel=1e-4, abs=1e-7), key


def test_norm_adv_by_std_picks_the_advantage():
    # one group of 4 with rewards [1, 0, 0, 0]: mean 0.25; unbiased std sqrt((0.75^2 + 3 * 0.25^2) / 3) = 0.5
    rewards, groups = torch.tensor([1.0, 0.0, 0.0, 0.0]), torch.zeros(4, dtype=torch.long)
    grpo = [1.5, -0.5, -0.5, -0.5]  # (r - 0.25) / 0.5
    dr_grpo = [0.75, -0.25, -0.25, -0.25]  # r - 0.25
    for config_cls in (GRPOConfig, SuperRLConfig):
        for norm, expected in ((True, grpo), (False, dr_grpo)):
            algorithm = ALGORITHMS.get(config_cls.name)(config_cls(norm_adv_by_std=norm, kl_coef=0.0), tiny_context())
            assert algorithm.advantage(rewards, groups).tolist() == pytest.approx(expected, abs=1e-5)


def test_ppo_trains_on_whitened_gae_and_the_critic_descends_the_value_loss():
    ctx = context(lr=1e-2)
    ctx = replace(ctx, settings=replace(ctx.settings, mini_batch_prompts=2, micro_batch_size=6))
    ppo = ALGORITHMS.get("ppo")(PPOConfig(kl_coef=0.0, critic="separate", value_clip=0.5), ctx)
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    mask = batch.mask
    with torch.no_grad():
        old_values = ppo.critic.all_values(batch, 6, SINGLE)
    policy_steps = record_steps(ppo.pg.optimizer, [ctx.model])
    critic_steps = record_steps(ppo.critic_optimizer, [ppo.critic])
    ppo.update(batch.examples, batch)
    (policy_grads, (policy,)), = policy_steps
    (critic_grads, (critic,)), = critic_steps
    # policy: outcome reward on the last real token, GAE (gamma = lambda = 1), whitened over real tokens,
    # on-policy ratio 1 -> token-mean of -A * logp's gradient
    rewards = torch.zeros_like(mask)
    rewards[torch.arange(6), mask.sum(-1).long() - 1] = batch.rewards
    advantages, returns = gae(rewards, old_values, mask, 1.0, 1.0)
    whitened = masked_whiten(advantages, mask)
    assert not torch.allclose(whitened * mask, advantages * mask)
    logp, _ = plain_logprobs(policy, batch.sequences, batch.sequences.target_start, TEMPERATURE)
    loss = (-whitened * torch.exp(logp - logp.detach()) * mask).sum() / mask.sum()
    expected = torch.autograd.grad(loss, list(policy.parameters()), allow_unused=True)
    for got, want in zip(policy_grads, expected):
        torch.testing.assert_close(got, want if want is not None else torch.zeros_like(got), atol=1e-6, rtol=1e-4)
    # critic: + 0.5 * max((V - R)^2, (clip(V, V_old +- 0.5) - R)^2), token mean: its gradient, not its negative
    values = critic(batch, torch.arange(6))
    clipped = old_values + (values - old_values).clamp(-0.5, 0.5)
    value_loss = (0.5 * torch.maximum((values - returns) ** 2, (clipped - returns) ** 2) * mask).sum() / mask.sum()
    expected = torch.autograd.grad(value_loss, [p for p in critic.parameters() if p.requires_grad], allow_unused=True)
    owned = [g for g in critic_grads]
    assert len(owned) == len(expected)
    for got, want in zip(owned, expected):
        torch.testing.assert_close(got, want if want is not None else torch.zeros_like(got), atol=1e-6, rtol=1e-4)


def test_sft_gradient_is_the_token_mean_nll_minus_the_entropy_bonus():
    ctx = tiny_context()
    prompts, demos = ["Q: 1+2?\n", "Q: 30+4?\n"], ["1+2=3\n#### 3", "30+4=34\n#### 34"]
    batch = tokenize_demos(ctx.tokenizer, prompts, demos, "cpu")
    ctx.model.zero_grad(set_to_none=True)
    nll_backward(ctx.model, batch, micro_batch_size=1, entropy_coef=0.1)  # two micro-batches of one demo
    got = [p.grad.clone() for p in ctx.model.parameters()]
    logp, entropy = plain_logprobs(ctx.model, batch, 1, 1.0)
    mask = batch.target_mask
    loss = (-logp * mask).sum() / mask.sum() - 0.1 * (entropy * mask).sum() / mask.sum()
    for g, want in zip(got, torch.autograd.grad(loss, list(ctx.model.parameters()))):
        torch.testing.assert_close(g, want, atol=1e-6, rtol=1e-4)


def test_nll_backward_reports_the_batch_token_mean_nll_and_defaults_to_no_entropy_bonus():
    ctx = tiny_context()
    prompts, demos = ["Q: 1+2?\n", "Q: 30+4?\n", "Q: 5?\n"], ["1+2=3\n#### 3", "30+4=34\n#### 34", "5"]
    batch = tokenize_demos(ctx.tokenizer, prompts, demos, "cpu")
    ctx.model.zero_grad(set_to_none=True)
    total = nll_backward(ctx.model, batch, micro_batch_size=2)["loss/sft"]  # micro-batches of 2 and 1 demos
    got = [p.grad.clone() for p in ctx.model.parameters()]
    logp, _ = plain_logprobs(ctx.model, batch, 1, 1.0)
    mask = batch.target_mask
    nll = (-logp * mask).sum() / mask.sum()
    assert total == pytest.approx(float(nll.detach()), rel=1e-5)
    for g, want in zip(got, torch.autograd.grad(nll, list(ctx.model.parameters()))):
        torch.testing.assert_close(g, want, atol=1e-6, rtol=1e-4)


def test_nll_of_a_single_target_token_is_divided_by_one():
    ctx = tiny_context()
    batch = tokenize_demos(ctx.tokenizer, ["Q: 5?\n"], [""], "cpu")  # the end token alone carries loss
    assert int(batch.target_mask.sum()) == 1
    logp, _ = plain_logprobs(ctx.model, batch, 1, 1.0)
    want = float(-(logp.detach() * batch.target_mask).sum())
    assert nll_backward(ctx.model, batch, micro_batch_size=4)["loss/sft"] == pytest.approx(want, rel=1e-5)


def test_a_non_finite_sft_loss_stops_with_its_value():
    ctx = tiny_context()
    batch = tokenize_demos(ctx.tokenizer, ["Q: 5?\n"], ["5"], "cpu")
    with torch.no_grad():
        next(ctx.model.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"^non-finite SFT loss \(nan\)$"):
        nll_backward(ctx.model, batch, micro_batch_size=4)


def test_the_sft_step_reports_the_grad_norm_of_its_nll_minus_entropy():
    ctx = tiny_context()
    examples = [example(1), example(30, demo="30+2=32\n#### 32")]
    batch = demo_batch(ctx, examples)
    logp, entropy = plain_logprobs(ctx.model, batch, batch.target_start, 1.0)
    mask = batch.target_mask
    loss = (-logp * mask).sum() / mask.sum() - 0.5 * (entropy * mask).sum() / mask.sum()
    want = torch.sqrt(sum((g**2).sum() for g in torch.autograd.grad(loss, list(ctx.model.parameters()))))
    sft = ALGORITHMS.get("sft")(SFTConfig(entropy_coef=0.5), ctx)
    metrics = sft.update(examples, None)
    assert metrics["train/grad_norm"] == pytest.approx(float(want), rel=1e-4)


def test_the_eos_token_carries_loss():
    eos = 2
    # completions: stops at its eos (kept), runs to the cap, stops at once
    ids = torch.tensor([[5, 6, eos, 7], [5, 6, 7, 8], [eos, 5, eos, 0]])
    lengths, truncated = Stops((eos,)).lengths(ids, tokenizer=None)  # token stops only: no decoding
    assert length_mask(lengths, ids.shape[1]).tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert truncated.tolist() == [False, True, False]
    ctx = tiny_context()
    batch = tokenize_demos(ctx.tokenizer, ["Q\n"], ["ab"], "cpu")
    scored = batch.input_ids[0, 1:][batch.target_mask[0].bool()].tolist()
    assert scored == ctx.tokenizer("ab", add_special_tokens=False)["input_ids"] + [ctx.tokenizer.eos_token_id]


def test_configs_pass_their_clip_bounds_in_order():
    from algorithms.grpo import pg_settings

    # eps_low = 0.1 is the floor 1 - 0.1, eps_high = 0.3 the ceiling 1 + 0.3 (DAPO's clip-higher)
    assert pg_settings(GRPOConfig(eps_low=0.1, eps_high=0.3)).clip == ClipSettings(eps_low=0.1, eps_high=0.3)


def test_a_second_epoch_on_one_mini_batch_uses_the_stored_old_log_probs():
    ctx = context()
    ctx = replace(ctx, settings=replace(ctx.settings, mini_batch_prompts=2))  # one mini-batch: the first epoch is on-policy
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=10.0, eps_high=10.0), ppo_epochs=2))
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    metrics = pg.update(batch, grpo_advantage(batch.rewards, batch.group_ids), torch.ones(6, dtype=torch.bool))
    # epoch 1: ratio 1; epoch 2: the policy has moved from the stored old log-probs, so the mean of the two is not 1
    assert abs(metrics["train/ratio_mean"] - 1.0) > 1e-4


def test_a_non_finite_policy_loss_stops_with_its_value():
    ctx = context()
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=0.2, eps_high=0.2)))
    batch = rollout_batch(ctx, [[1.0, 0.0]])
    with torch.no_grad():
        next(ctx.model.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"^non-finite policy loss \(nan\)$"):
        pg.update(batch, grpo_advantage(batch.rewards, batch.group_ids), torch.ones(2, dtype=torch.bool))


def test_an_entropy_coefficient_of_one_still_takes_the_entropy_term():
    ctx = context()
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=0.2, eps_high=0.2), entropy_coef=1.0))
    batch = rollout_batch(ctx, [[1.0, 0.0]])
    metrics = pg.update(batch, grpo_advantage(batch.rewards, batch.group_ids), torch.ones(2, dtype=torch.bool))
    assert metrics["loss/entropy"] > 0


def test_a_mini_batch_of_one_real_token_is_divided_by_one():
    ctx = context()
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=0.2, eps_high=0.2)))
    batch = rollout_batch(ctx, [[1.0, 0.0]])
    one_token = torch.zeros_like(batch.sequences.target_mask)
    one_token[0, 0] = 1.0
    batch = replace(batch, sequences=replace(batch.sequences, target_mask=one_token))
    advantages = grpo_advantage(batch.rewards, batch.group_ids)
    metrics = pg.update(batch, advantages, torch.tensor([True, False]))
    assert metrics["loss/pg"] == pytest.approx(-float(advantages[0]), rel=1e-5)  # -A * ratio 1, over one token


def test_a_grpo_family_config_reaches_the_policy_update_whole():
    """Pins every knob pg_settings copies (dual clip, aggregation, KL weight and estimator, entropy, epochs)
    into the PolicyGradient GRPO, PSR/NSR, ReLIFT and SuperRL build: each is off its PGSettings default here."""
    config = GRPOConfig(
        eps_low=0.1, eps_high=0.3, dual_clip=3.0, loss_agg="seq_mean_token_sum_norm",
        kl_coef=0.05, kl_type="k2", entropy_coef=0.01, ppo_epochs=2,
    )
    expected = PGSettings(
        policy_loss="clip", clip=ClipSettings(0.1, 0.3, 3.0), loss_agg="seq_mean_token_sum_norm",
        kl_coef=0.05, kl_type="k2", entropy_coef=0.01, ppo_epochs=2,
    )
    assert ALGORITHMS.get("grpo")(config, tiny_context()).pg.settings == expected
    assert pg_settings(config, "reinforce") == replace(expected, policy_loss="reinforce")


def _one_weight_step(grad: list[float], grad_clip: float):
    """A 1x2 weight at zero with `grad` set, stepped by clip_and_step under SGD(lr=1): the step is -clipped grad."""
    layer = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    layer.weight.grad = torch.tensor([grad])
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return layer, lambda: clip_and_step(layer, list(layer.parameters()), optimizer, scheduler, grad_clip)


def test_clip_and_step_clips_to_a_norm_of_one_and_clears_the_gradients():
    """Pins `grad_clip > 0` (1.0 clips, 0 does not) and `zero_grad(set_to_none=True)` after the step."""
    # grad [3, 4]: norm 5; clipped to norm 1 it is [0.6, 0.8], and SGD(lr=1) steps the weight to minus that
    layer, step = _one_weight_step([3.0, 4.0], grad_clip=1.0)
    assert step() == pytest.approx(5.0)  # the pre-clip norm
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[-0.6, -0.8]]))
    assert layer.weight.grad is None  # None, not zeros: has_gradients then sees no new gradient
    layer, step = _one_weight_step([3.0, 4.0], grad_clip=0.0)  # 0: no clipping, the whole gradient
    assert step() == pytest.approx(5.0)
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[-3.0, -4.0]]))


def test_a_non_finite_gradient_norm_raises_with_its_value_and_leaves_the_weights():
    """Pins the non-finite branch: its message (the runner quotes it), no step, and the gradients cleared to None."""
    layer, step = _one_weight_step([float("nan"), 1.0], grad_clip=1.0)
    with pytest.raises(FloatingPointError, match=r"^non-finite gradient norm \(nan\); parameters left unchanged$"):
        step()
    assert layer.weight.detach().tolist() == [[0.0, 0.0]] and layer.weight.grad is None


def test_old_log_probs_are_computed_only_when_the_policy_moves_within_the_update():
    """Pins `off_policy`: several epochs or several mini-batches move the policy; one epoch over one
    mini-batch does not, and then `reference_logprobs` computes no old log-probs (nor a reference without KL)."""
    ctx = context(mini_batch_prompts=2)
    one_epoch = PolicyGradient(ctx, PGSettings(ppo_epochs=1))
    assert not one_epoch.off_policy(2)  # 2 prompts in one mini-batch of 2, once
    assert not one_epoch.off_policy(1)
    assert one_epoch.off_policy(3)  # mini-batches of 2 over 3 prompts: the second sees a moved policy
    assert PolicyGradient(ctx, PGSettings(ppo_epochs=2)).off_policy(2)  # the second epoch does
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    assert one_epoch.reference_logprobs(batch, torch.arange(4)) == (None, None)
    old, ref = PolicyGradient(ctx, PGSettings(ppo_epochs=2)).reference_logprobs(batch, torch.arange(4))
    assert old.shape == batch.mask.shape and ref is None


def test_rank_zero_trains_and_scores_the_whole_groups_it_owns():
    """Pins the groups handed to `own` (update) and `micro_batches` (backward): rank 0 of 2 owns prompt 0's
    three kept rows (not the first half of the four kept rows), and its reference log-probs cover them."""
    ctx = replace(context(mini_batch_prompts=2), parallel=FirstOfTwoRanks())
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=0.2, eps_high=0.2), kl_coef=0.5))
    batch = rollout_batch(ctx, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    advantages = grpo_advantage(batch.rewards, batch.group_ids)
    keep = torch.tensor([True, True, True, True, False, False])  # kept rows 0..3: prompt 0's three, prompt 1's one
    metrics = pg.update(batch, advantages, keep)
    tokens = batch.mask.sum(-1)
    # one epoch, one mini-batch: on-policy, ratio exactly 1, so rank 0's part of the ratio mean is its share of
    # the kept tokens, and its clip loss is -A summed over its tokens, both over all four kept rows' tokens
    assert metrics["train/ratio_mean"] == pytest.approx(float(tokens[:3].sum() / tokens[:4].sum()), rel=1e-6)
    assert metrics["loss/pg"] == pytest.approx(float(-(advantages[:3] * tokens[:3]).sum() / tokens[:4].sum()), rel=1e-5, abs=1e-7)
    # the policy has not moved from its reference yet: k3 is 0 on every row whose reference log-probs were computed
    assert metrics["loss/kl"] == pytest.approx(0.0, abs=1e-6)


class _Clock:
    """A stand-in for the time module whose perf_counter advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("kept, steps", [([True] * 4, 2), ([True, True, False, False], 1)], ids=["both", "first only"])
def test_optimizer_time_is_summed_over_the_steps_taken(monkeypatch, kept, steps):
    """Pins `time/optimizer` (its key, end - start, summed not averaged) and that a mini-batch left with no
    kept sample takes no optimizer step: with a clock ticking 1 s per reading each step lasts exactly 1 s."""
    import algorithms.policy_gradient as policy_gradient

    ctx = context()  # one prompt per mini-batch: two mini-batches
    pg = PolicyGradient(ctx, PGSettings(clip=ClipSettings(eps_low=0.2, eps_high=0.2)))
    batch = rollout_batch(ctx, [[1.0, 0.0], [0.0, 1.0]])
    monkeypatch.setattr(policy_gradient, "time", _Clock())
    metrics = pg.update(batch, grpo_advantage(batch.rewards, batch.group_ids), torch.tensor(kept))
    assert metrics["time/optimizer"] == steps


def test_sft_on_rank_zero_of_two_trains_its_own_demonstration_over_both_ranks_tokens():
    """Pins SFT.update handing the run's Parallel to nll_backward: rank 0 of 2 takes demonstration 0 only,
    divided by the tokens of both demonstrations."""
    ctx = replace(tiny_context(micro_batch_size=1), parallel=FirstOfTwoRanks())
    examples = [example(1), example(30, demo="30+2=32\n#### 32")]
    batch = demo_batch(ctx, examples)
    with torch.no_grad():
        logp, _ = plain_logprobs(ctx.model, batch, batch.target_start, 1.0)
    mask = batch.target_mask
    want = float((-logp[0] * mask[0]).sum() / mask.sum())
    metrics = ALGORITHMS.get("sft")(SFTConfig(), ctx).update(examples, None)
    assert metrics["loss/sft"] == pytest.approx(want, rel=1e-5)


def test_demos_are_tokenized_without_the_tokenizers_special_tokens():
    """A tokenizer that prepends a BOS (as Llama's does) gets none inside `prompt + demo + end`: both parts skip special tokens."""
    from tokenizers.processors import TemplateProcessing

    tokenizer = copy.deepcopy(tiny_context().tokenizer)
    bos = tokenizer.unk_token_id
    tokenizer._tokenizer.post_processor = TemplateProcessing(single="<unk> $A", special_tokens=[("<unk>", bos)])
    assert tokenizer("ab")["input_ids"][0] == bos  # the stand-in adds a BOS by default
    batch = tokenize_demos(tokenizer, ["Q\n"], ["ab"], "cpu")
    plain = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    assert batch.input_ids[0].tolist() == plain("Q\n") + plain("ab") + [tokenizer.eos_token_id]
    assert bos not in batch.input_ids[0].tolist()
