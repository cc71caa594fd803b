"""Log-probabilities and entropies of target tokens under a causal LM."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from algorithms.batch import RolloutBatch, SequenceBatch
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
    return token_logprobs(logits, batch.input_ids[:, start:], temperature, with_entropy)


def completion_logprobs(
    model: torch.nn.Module,
    batch: RolloutBatch,
    rows: Tensor,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """`target_logprobs` of the completions in `rows`, each distinct prompt run through the model once.

    The n completions of a prompt share it, so the prompt's forward (and, through
    its KV cache, its backward) is paid once per group rather than n times, and
    completions are trimmed to the longest in `rows`. Same values as
    `target_logprobs` on the full sequences, to float rounding.
    """
    sequences, start = batch.sequences, batch.sequences.target_start
    groups, inverse = torch.unique(batch.group_ids[rows], return_inverse=True)
    one_row_per_group = torch.empty_like(groups).scatter_(0, inverse, rows)
    prompt_mask = sequences.attention_mask[one_row_per_group, :start]
    prompt_positions = position_ids(prompt_mask)
    prompt = model(
        input_ids=sequences.input_ids[one_row_per_group, :start],
        attention_mask=prompt_mask,
        position_ids=prompt_positions,
        use_cache=True,
        logits_to_keep=1,
    )
    cache = prompt.past_key_values
    cache.batch_select_indices(inverse)
    full_length = batch.mask.shape[1]
    scored = batch.mask[rows].any(0).nonzero()
    length = int(scored.max()) + 1 if len(scored) else 1
    completions = sequences.input_ids[rows, start : start + length]
    positions = prompt_positions[inverse, -1:] + 1 + torch.arange(length, device=rows.device)
    logits = model(
        input_ids=completions,
        attention_mask=sequences.attention_mask[rows, : start + length],
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
    ).logits[:, :-1]
    logits = torch.cat([prompt.logits[inverse, -1:], logits], dim=1)
    logp, entropy = token_logprobs(logits, completions, temperature, with_entropy)
    pad = (0, full_length - length)
    return F.pad(logp, pad), None if entropy is None else F.pad(entropy, pad)


def token_logprobs(logits: Tensor, targets: Tensor, temperature: float, with_entropy: bool) -> tuple[Tensor, Tensor | None]:
    """Log-probs of `targets` under temperature-scaled `logits` (`[N, T, V]`), and entropies if asked."""
    logits = logits.float() / temperature
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return logp, entropy_from_logits(logits) if with_entropy else None
