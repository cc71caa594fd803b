"""Log-probabilities and entropies of target tokens under a causal LM."""

from __future__ import annotations

import torch
from torch import Tensor

from algorithms.batch import SequenceBatch
from algorithms.losses import entropy_from_logits


def position_ids(attention_mask: Tensor) -> Tensor:
    """Positions counted over real tokens only, as `generate` does for left padding."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def target_logprobs(
    model: torch.nn.Module,
    batch: SequenceBatch,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """`[N, T]` log p(token) for targets (T = L - target_start), and entropies if asked.

    Logits are divided by the sampling temperature, so the ratio and the KL refer
    to the distribution the rollouts came from (as verl does).
    """
    start = batch.target_start
    keep = batch.input_ids.shape[1] - start + 1
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids(batch.attention_mask),
        logits_to_keep=keep,
        use_cache=False,
    ).logits[:, :-1]
    logits = logits.float() / temperature
    targets = batch.input_ids[:, start:]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = entropy_from_logits(logits) if with_entropy else None
    return logp, entropy
