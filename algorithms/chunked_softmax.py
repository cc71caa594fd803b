"""Log-probs of chosen tokens (and entropies) without fp32 `[N, T, V]` copies of the logits.

With Qwen's 151,936-token vocabulary and 1,024 completion tokens, one sequence's logits
are 0.3 GB in bf16; `log_softmax(logits.float())` keeps an fp32 copy (0.6 GB) for
backward and makes two more while differentiating it, per sequence of the micro-batch.
Here the forward walks the positions in chunks, in fp32, and keeps only the per-position
log-sum-exp; the backward recomputes each chunk's softmax from the logits it already
holds and writes the gradient, in the logits' own dtype, over that chunk of the logits
themselves (as Liger's fused cross-entropy does): once backward has run, the logits a
caller passed in hold their gradient and must not be read again. TRL computes the chosen-token
log-probs row by row for the same reason (`trl/trainer/utils.py`, `selective_log_softmax`);
verl and Liger fuse the LM head into the loss, which we do not (the logits are the model's
output, in its compute dtype, and are kept).

Gradients, with z = logits / T and p = softmax(z):
    d logp(y) / dz = onehot(y) - p
    d H / dz       = p * (E_p[z] - z),  where H = logsumexp(z) - E_p[z]
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK_ELEMENTS = 1 << 22  # fp32 work per chunk: 16 MiB for each temporary (27 positions of a 151,936 vocabulary)


class _ChosenLogprobs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, temperature: float, with_entropy: bool):
        lse = torch.empty(targets.shape, dtype=torch.float32, device=logits.device)
        logp = torch.empty_like(lse)
        mean_z = torch.empty_like(lse) if with_entropy else None
        for at in _chunks(logits):
            z = logits[at].float() / temperature
            lse[at] = torch.logsumexp(z, dim=-1)
            logp[at] = z.gather(-1, targets[at].unsqueeze(-1)).squeeze(-1) - lse[at]
            if with_entropy:
                mean_z[at] = (torch.exp(z - lse[at].unsqueeze(-1)) * z).sum(-1)
        ctx.save_for_backward(logits, targets, lse, *([mean_z] if with_entropy else []))
        ctx.temperature = temperature
        return logp, (lse - mean_z) if with_entropy else None

    @staticmethod
    def backward(ctx, grad_logp: Tensor | None, grad_entropy: Tensor | None):
        logits, targets, lse, *entropy_terms = ctx.saved_tensors
        # autograd hands zeros, not None, for an output the loss did not use (materialized grads)
        grad = logits if logits.is_contiguous() else torch.empty_like(logits)  # each chunk is read before it is overwritten
        for at in _chunks(logits):
            z = logits[at].float() / ctx.temperature
            p = torch.exp(z - lse[at].unsqueeze(-1))
            g = -p * grad_logp[at].unsqueeze(-1)
            g.scatter_add_(-1, targets[at].unsqueeze(-1), grad_logp[at].unsqueeze(-1))
            if entropy_terms:
                g += grad_entropy[at].unsqueeze(-1) * p * (entropy_terms[0][at].unsqueeze(-1) - z)
            grad[at] = g / ctx.temperature  # cast to the logits' dtype on assignment
        return grad, None, None, None


def _chunks(logits: Tensor) -> list[tuple[slice, slice]]:
    """(rows, positions) blocks of `[N, T, V]` logits of about CHUNK_ELEMENTS each (views, no copies):
    several whole rows at a time when a row is small, else slices of one row."""
    rows, positions, vocab = logits.shape
    per_row = max(positions * vocab, 1)
    if per_row <= CHUNK_ELEMENTS:
        step = CHUNK_ELEMENTS // per_row
        return [(slice(r, r + step), slice(None)) for r in range(0, rows, step)]
    step = max(1, CHUNK_ELEMENTS // max(vocab, 1))
    return [(slice(r, r + 1), slice(t, t + step)) for r in range(rows) for t in range(0, positions, step)]


def chosen_logprobs(logits: Tensor, targets: Tensor, temperature: float, with_entropy: bool) -> tuple[Tensor, Tensor | None]:
    """fp32 `[N, T]` log softmax(logits / T)[targets] of `[N, T, V]` logits, and `[N, T]` entropies if asked."""
    return _ChosenLogprobs.apply(logits, targets, temperature, with_entropy)
