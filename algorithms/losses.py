"""Token-level losses shared by every algorithm, and the one aggregation rule.

Shapes: `[N, T]` = samples x completion tokens; `mask` is 1 on real tokens.
Formulas follow verl's verl/trainer/ppo/core_algos.py (`agg_loss`,
`compute_policy_loss_vanilla`, `kl_penalty`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from algorithms.registry import register_kl, register_policy_loss

AGG_MODES = ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm")


def agg_loss(
    loss_mat: Tensor,
    mask: Tensor,
    mode: str,
    *,
    num_tokens: float | None = None,
    num_seqs: float | None = None,
    norm_len: float | None = None,
) -> Tensor:
    """Reduce a `[N, T]` loss to a scalar.

    token_mean: sum over all tokens / token count (DAPO). seq_mean_token_mean:
    mean over sequences of each sequence's token mean (GRPO paper).
    seq_mean_token_sum: mean over sequences of token sums. seq_mean_token_sum_norm:
    mean over sequences of token sums / `norm_len`, a constant (the max response
    length) so no length bias (Dr. GRPO). `num_tokens`/`num_seqs` let a micro-batch
    use its mini-batch's counts, so accumulated gradients equal the full batch's.
    """
    mask = mask.to(loss_mat.dtype)
    num_seqs = num_seqs if num_seqs is not None else float(mask.shape[0])
    if mode == "token_mean":
        num_tokens = num_tokens if num_tokens is not None else mask.sum().clamp(min=1.0)
        return (loss_mat * mask).sum() / num_tokens
    token_sums = (loss_mat * mask).sum(-1)
    if mode == "seq_mean_token_mean":
        return (token_sums / mask.sum(-1).clamp(min=1.0)).sum() / num_seqs
    if mode == "seq_mean_token_sum":
        return token_sums.sum() / num_seqs
    if mode == "seq_mean_token_sum_norm":
        norm_len = norm_len if norm_len is not None else float(mask.shape[-1])
        return token_sums.sum() / norm_len / num_seqs
    raise ValueError(f"unknown loss aggregation {mode!r}; known: {', '.join(AGG_MODES)}")


@dataclass(frozen=True)
class ClipSettings:
    eps_low: float = 0.2  # ratio floor 1 - eps_low
    eps_high: float = 0.2  # ratio ceiling 1 + eps_high (0.28 = DAPO clip-higher)
    dual_clip: float | None = None  # c > 1 bounds the loss of A < 0 samples at -c*A (3.0 in verl)


@register_policy_loss("clip")
def clipped_surrogate(logp: Tensor, old_logp: Tensor, advantages: Tensor, clip: ClipSettings) -> tuple[Tensor, Tensor]:
    """PPO clip: max(-A rho, -A clip(rho)); with dual clip, min(that, -c A) where A < 0.

    Returns the `[N, T]` loss and a `[N, T]` 0/1 tensor of clipped tokens.
    """
    ratio = torch.exp(torch.clamp(logp - old_logp, -20.0, 20.0))
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip.eps_low, 1.0 + clip.eps_high)
    loss = torch.maximum(unclipped, clipped)
    was_clipped = (clipped > unclipped).float()
    if clip.dual_clip is not None:
        bound = -advantages * clip.dual_clip
        dual = (advantages < 0) & (loss > bound)
        loss = torch.where(dual, bound, loss)
        was_clipped = torch.where(dual, torch.ones_like(was_clipped), was_clipped)
    return loss, was_clipped


@register_policy_loss("reinforce")
def importance_weighted(logp: Tensor, old_logp: Tensor, advantages: Tensor, clip: ClipSettings) -> tuple[Tensor, Tensor]:
    """-A rho without clipping (ReLIFT's RL loss); on-policy its gradient is REINFORCE's."""
    ratio = torch.exp(torch.clamp(logp - old_logp, -20.0, 20.0))
    return -advantages * ratio, torch.zeros_like(ratio)


@register_kl("k1")
def kl_k1(logp: Tensor, ref_logp: Tensor) -> Tensor:
    return logp - ref_logp


@register_kl("k2")
def kl_k2(logp: Tensor, ref_logp: Tensor) -> Tensor:
    return 0.5 * (logp - ref_logp) ** 2


@register_kl("k3")
def kl_k3(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """Schulman's unbiased, non-negative estimator e^d - d - 1 with d = ref - logp."""
    d = torch.clamp(ref_logp - logp, -20.0, 20.0)
    return torch.clamp(torch.exp(d) - d - 1.0, -10.0, 10.0)
