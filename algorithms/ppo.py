"""PPO with a learned critic (Schulman et al. 2017, "Proximal Policy Optimization
Algorithms"; the LLM recipe of Ouyang et al. 2022), following verl's reference code.

Token rewards are the {0, 1} outcome on each completion's last token minus
`kl_coef` x k1 KL to the frozen initial policy on every token (KL in the reward,
not in the loss). A critic predicts the return of every completion prefix; GAE
(gamma = lambda = 1 by default) turns rewards and values into per-token
advantages, whitened over the batch, which drive the shared clipped-surrogate
update. The critic minimises 0.5 * max((V - R)^2, (clip(V, V_old +- 0.5) - R)^2).

`critic=separate` (default, as verl): a deep copy of the policy's transformer plus
a scalar head, with its own AdamW at `critic_lr_mult` x the policy lr.
`critic=head`: the scalar head sits on the policy's own transformer; the value
loss then also trains that shared trunk (stepped by the policy optimizer) and only
the head runs at the critic lr. The critic computes in the policy's compute dtype,
and under `sharding=fsdp` a separate critic is sharded as the policy is.

Departures from verl's reference code:
1. The critic steps once per policy mini-batch, just before the policy step, in
   the same epochs (through PolicyGradient's `extra_backward` hook) instead of a
   separate pass with its own mini-batch size. Values, returns and advantages are
   fixed before either update, so the targets are the same.
2. The KL coefficient is fixed (verl's default `kl_ctrl.type=fixed`); no adaptive controller.
3. Both optimizers share `train.weight_decay`, `train.grad_clip` and warmup (verl
   configures the critic's separately; its defaults are equal apart from lr).
4. `critic=head` (shared trunk, loss pg + vf_coef * value) is not in verl, which
   always trains a separate critic model.
5. GAE's advantages and returns are zeroed on padding (verl leaves values there that
   every loss masks out anyway).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from algorithms import sharding
from algorithms.base import Algorithm
from algorithms.batch import RolloutBatch
from algorithms.configs import PPOConfig
from algorithms.context import TrainContext, clip_and_step, make_optimizer
from algorithms.logprobs import shared_prompt_forward
from algorithms.parallel import Parallel
from algorithms.precision import compute_autocast, compute_dtype, set_compute_dtype
from algorithms.losses import ClipSettings, agg_loss
from algorithms.policy_gradient import PGSettings, PolicyGradient
from algorithms.reference import causal_lm, frozen_reference
from algorithms.registry import KL_ESTIMATORS, register_algorithm
from evaluators.types import Example

CRITIC_MODES = ("separate", "head")


# --- pure functions -----------------------------------------------------------
def token_rewards(outcome: Tensor, mask: Tensor, kl: Tensor, kl_coef: float) -> Tensor:
    """`[N, T]`: outcome `[N]` on each completion's last real token, minus kl_coef * kl on every real token."""
    last = (mask.sum(-1).long() - 1).clamp(min=0)
    scores = torch.zeros_like(mask).scatter(1, last.unsqueeze(-1), outcome.to(mask.dtype).unsqueeze(-1))
    return (scores - kl_coef * kl) * mask


def gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation, right to left over `[N, T]` (verl's masked form).

    delta_t = r_t + gamma V_{t+1} - V_t; A_t = delta_t + gamma lam A_{t+1}; returns = A + V.
    Padding carries the next real value and advantage through unchanged; both
    outputs are zero on padding.
    """
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    advantages = torch.zeros_like(values)
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        real = mask[:, t]
        next_advantage = real * (delta + gamma * lam * next_advantage) + (1 - real) * next_advantage
        next_value = real * values[:, t] + (1 - real) * next_value
        advantages[:, t] = next_advantage
    return advantages * mask, (advantages + values) * mask


def masked_whiten(x: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """(x - mean) / sqrt(var + eps) over real tokens, unbiased var (verl's masked_whiten); zero on padding."""
    count = mask.sum()
    mean = (x * mask).sum() / count
    var = (((x - mean) ** 2) * mask).sum() / (count - 1).clamp(min=1.0)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def clipped_value_loss(values: Tensor, old_values: Tensor, returns: Tensor, clip: float) -> tuple[Tensor, Tensor]:
    """`[N, T]` 0.5 * max((V - R)^2, (clip(V, V_old +- clip) - R)^2), and 1 where the clipped term won.
    V is clamped itself, as verl's `clip_by_value` does: V_old + clamp(V - V_old) rounds, so inside the
    range it can differ from V in the last bit and count as clipped."""
    clipped_values = values.clamp(old_values - clip, old_values + clip)
    unclipped = (values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    return 0.5 * torch.maximum(unclipped, clipped), (clipped > unclipped).float()


def explained_variance(values: Tensor, returns: Tensor, mask: Tensor) -> float:
    """1 - Var(R - V) / Var(R) over real tokens: 1 = perfect critic, 0 = no better than a constant."""
    real = mask.bool()
    residual, target = (returns - values)[real], returns[real]
    return float(1.0 - residual.var() / (target.var() + 1e-5))


# --- the critic ---------------------------------------------------------------
class ValueModel(nn.Module):
    """A scalar head on a causal LM's transformer, read where each completion token is predicted.
    It computes in the policy's compute dtype (algorithms/precision.py), as verl's critic does in its actor's."""

    def __init__(self, backbone: nn.Module, hidden_size: int, init_std: float, dtype: torch.dtype) -> None:
        super().__init__()
        self.backbone = backbone
        weight = next(backbone.parameters())
        self.head = nn.Linear(hidden_size, 1, device=weight.device, dtype=weight.dtype)
        nn.init.normal_(self.head.weight, std=init_std)  # as the token-classification head verl's critic loads
        nn.init.zeros_(self.head.bias)
        set_compute_dtype(self, dtype)
        set_compute_dtype(backbone, dtype)

    @property
    def _no_split_modules(self) -> list[str]:
        """The backbone's decoder layers: the units `sharding.shard` wraps."""
        return self.backbone._no_split_modules

    def forward(self, batch: RolloutBatch | None = None, rows: Tensor | None = None, **backbone_inputs: Any) -> Tensor:
        """`[R, T]` values of `rows`: position t - 1's hidden state values the prefix before completion token t.
        Called with the backbone's own inputs instead (as `sharding.reduce_gradients` does), `[B, L]` head outputs."""
        if batch is None:  # summed over the one output: a new tensor (FSDP warns when a unit returns a view)
            return self.head(self.backbone(**backbone_inputs).last_hidden_state).sum(-1)
        hidden = torch.cat(shared_prompt_forward(self.backbone, batch, rows, lambda out: out.last_hidden_state), 1)
        with compute_autocast(self):
            values = self.head(hidden).squeeze(-1).float()
        return F.pad(values, (0, batch.mask.shape[1] - values.shape[1]))

    @torch.no_grad()
    def all_values(self, batch: RolloutBatch, micro_batch_size: int, parallel: Parallel) -> Tensor:
        """`[N, T]` values of every sample without gradients: each process values its rows, micro-batch by micro-batch."""
        rows = torch.arange(len(batch.rewards), device=batch.rewards.device)
        micros = parallel.micro_batches(rows, micro_batch_size, batch.group_ids)
        values = torch.cat([self(batch, micro) for micro in micros]) if micros else batch.mask.new_zeros((0, batch.mask.shape[1]))
        return parallel.gather_rows(torch.cat(micros) if micros else rows[:0], values, len(rows))


def build_critic(policy: nn.Module, mode: str) -> tuple[ValueModel, nn.Module]:
    """The value model and the part the critic owns (optimises, checkpoints): all of it, or only its head.
    A separate critic of a sharded policy is sharded the same way (every process must call this then)."""
    if mode not in CRITIC_MODES:
        raise ValueError(f"unknown critic {mode!r}; known: {', '.join(CRITIC_MODES)}")
    shared = mode == "head"
    transformer = causal_lm(policy).base_model  # a LoRA policy's transformer keeps its adapters
    if shared:
        backbone = transformer
    else:
        backbone = sharding.plain_copy(transformer) if sharding.is_sharded(policy) else copy.deepcopy(transformer)
    critic = ValueModel(backbone, policy.config.hidden_size, policy.config.initializer_range, compute_dtype(policy))
    if not shared and sharding.is_sharded(policy):
        sharding.shard(critic)
    return critic, critic.head if shared else critic


# --- the algorithm ------------------------------------------------------------
@register_algorithm("ppo")
class PPO(Algorithm):
    def __init__(self, config: PPOConfig, ctx: TrainContext) -> None:
        self.config, self.ctx = config, ctx
        settings = PGSettings(
            policy_loss="clip",
            clip=ClipSettings(config.eps_low, config.eps_high, config.dual_clip),
            loss_agg=config.loss_agg,
            kl_coef=0.0,  # no KL loss: PPO's KL lives in the reward
            entropy_coef=config.entropy_coef,
            ppo_epochs=config.ppo_epochs,
        )
        self.pg = PolicyGradient(ctx, settings)
        self.kl = KL_ESTIMATORS.get(config.kl_type)
        self.reference = frozen_reference(ctx.model) if config.kl_coef > 0 else None
        self.critic, self.owned = build_critic(ctx.model, config.critic)
        self.critic_params = list(self.owned.parameters())
        s = ctx.settings
        self.critic_optimizer, self.critic_scheduler = make_optimizer(
            self.critic_params, s.lr * config.critic_lr_mult, s.weight_decay, s.warmup_steps
        )

    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]:
        with sharding.gathered(self.critic):
            return self._update(rollouts)

    def _update(self, rollouts: RolloutBatch) -> dict[str, float]:
        mask = rollouts.mask.float()
        micro = self.ctx.settings.micro_batch_size
        old_values = self.critic.all_values(rollouts, micro, self.ctx.parallel)
        kl = self.reward_kl(rollouts) * mask
        rewards = token_rewards(rollouts.rewards, mask, kl, self.config.kl_coef)
        advantages, returns = gae(rewards, old_values, mask, self.config.gamma, self.config.lam)
        advantages = masked_whiten(advantages, mask)
        keep = torch.ones_like(rollouts.rewards, dtype=torch.bool)
        value_step = partial(self.value_step, rollouts, old_values, returns)
        metrics = self.pg.update(rollouts, advantages, keep, extra_backward=value_step)
        metrics["train/explained_variance"] = explained_variance(old_values, returns, mask)
        metrics["train/reward_kl"] = float(kl.sum() / mask.sum())
        metrics["train/value_mean"] = float((old_values * mask).sum() / mask.sum())
        return metrics

    def reward_kl(self, rollouts: RolloutBatch) -> Tensor:
        """`[N, T]` KL estimate of the current (pre-update) policy to the reference; zeros without one."""
        if self.reference is None:
            return torch.zeros_like(rollouts.mask, dtype=torch.float32)
        parallel = self.ctx.parallel
        rows = parallel.own(torch.arange(len(rollouts.rewards), device=self.ctx.device), rollouts.group_ids)
        logp = self.pg.chunked_logprobs(self.ctx.model, rollouts, rows)[rows]
        with sharding.gathered(self.reference):
            ref = self.pg.chunked_logprobs(self.reference, rollouts, rows)[rows]
        return parallel.gather_rows(rows, self.kl(logp, ref), len(rollouts.rewards))

    def value_step(self, rollouts: RolloutBatch, old_values: Tensor, returns: Tensor, prompts: Tensor) -> dict[str, float]:
        """Clipped value loss on the mini-batch of `prompts` (this process's share of it), backward, one critic optimizer step."""
        samples = torch.nonzero(torch.isin(rollouts.group_ids, prompts)).squeeze(-1)
        num_tokens = rollouts.mask[samples].sum().clamp(min=1.0)
        totals: dict[str, float] = defaultdict(float)
        parallel = self.ctx.parallel
        for micro in parallel.micro_batches(samples, self.ctx.settings.micro_batch_size, rollouts.group_ids[samples]):
            mask = rollouts.mask[micro]
            values = self.critic(rollouts, micro)
            loss_mat, clipped = clipped_value_loss(values, old_values[micro], returns[micro], self.config.value_clip)
            loss = agg_loss(loss_mat, mask, "token_mean", num_tokens=num_tokens)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite value loss ({float(loss.detach())})")
            (self.config.vf_coef * loss).backward()
            totals["loss/value"] += float(loss.detach())
            totals["train/value_clip_frac"] += float((clipped * mask).sum() / num_tokens)
        totals = parallel.sum(dict(totals))
        totals["train/critic_grad_norm"] = clip_and_step(
            self.critic, self.critic_params, self.critic_optimizer, self.critic_scheduler, self.ctx.settings.grad_clip, parallel
        )
        return totals

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.pg.state_dict(),
            "critic": self.owned.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "critic_scheduler": self.critic_scheduler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pg.load_state_dict(state["policy"])
        if sharding.is_sharded(self.owned):
            missing, unexpected = sharding.load_full_weights(self.owned, state["critic"])
            if missing or unexpected:
                raise KeyError(f"critic checkpoint does not match the critic: missing {missing}, unexpected {unexpected}")
        else:
            self.owned.load_state_dict(state["critic"])
        sharding.load_optimizer(self.critic_optimizer, state["critic_optimizer"])
        self.critic_scheduler.load_state_dict(state["critic_scheduler"])
