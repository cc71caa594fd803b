"""Log-probabilities and entropies of target tokens under a causal LM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from algorithms.batch import RolloutBatch, SequenceBatch
from algorithms.kv_cache_name import cache_kwargs, output_cache
from algorithms.checkpointing import checkpointing_on
from algorithms.chunked_softmax import chosen_logprobs
from algorithms.precision import compute_autocast


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
    with compute_autocast(model):
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
    """`target_logprobs` of the completions in `rows`, each distinct prompt run through the model once."""
    blocks = shared_prompt_forward(model, batch, rows, lambda out: out.logits, logits_to_keep=1)
    targets = batch.sequences.input_ids[rows, batch.sequences.target_start :]
    logps, entropies, at = [], [], 0
    for logits in blocks:  # the [R, ., V] blocks are reduced one by one, never concatenated
        logp, entropy = token_logprobs(logits, targets[:, at : at + logits.shape[1]], temperature, with_entropy)
        logps.append(logp)
        entropies.append(entropy)
        at += logits.shape[1]
    pad = (0, batch.mask.shape[1] - at)
    return F.pad(torch.cat(logps, 1), pad), None if not with_entropy else F.pad(torch.cat(entropies, 1), pad)


def shared_prompt_forward(
    model: torch.nn.Module, batch: RolloutBatch, rows: Tensor, read: Callable[[Any], Tensor], **prompt_kwargs: Any
) -> list[Tensor]:
    """`read(output)` at the positions that predict each completion token of `rows`, as
    consecutive blocks along positions that together span `[R, length, ...]`.

    The n completions of a prompt share it, so the prompt's forward (and, through
    its KV cache, its backward) is paid once per group rather than n times, and
    completions are trimmed to the longest in `rows` (`length`). Same values as one
    forward over the full sequences, to float rounding. `model` is a causal LM or
    its transformer (a critic's backbone). Runs in the model's compute dtype.
    Blocks, not one tensor: concatenating vocabulary-sized logits would copy them,
    and slicing off an unused position would make backward allocate them again.
    Under gradient checkpointing transformers turns the KV cache off, so the rows
    then take that one full forward each (`prompt_kwargs` then only says whether
    the model takes `logits_to_keep`).
    """
    with compute_autocast(model):
        if checkpointing_on(model):
            return [_full_forward(model, batch, rows, read, "logits_to_keep" in prompt_kwargs)]
        return _shared_prompt_forward(model, batch, rows, read, **prompt_kwargs)


def _scored_length(batch: RolloutBatch, rows: Tensor) -> int:
    """The longest completion among `rows` (1 when none has a token)."""
    scored = batch.mask[rows].any(0).nonzero()
    return int(scored.max()) + 1 if len(scored) else 1


def _full_forward(model, batch: RolloutBatch, rows: Tensor, read: Callable[[Any], Tensor], keeps_logits: bool) -> Tensor:
    """The positions start - 1 .. start + length - 2 of one forward over the sequences (the last token predicts nothing kept)."""
    sequences, start = batch.sequences, batch.sequences.target_start
    length = _scored_length(batch, rows)
    mask = sequences.attention_mask[rows, : start + length - 1]
    keep = {"logits_to_keep": length} if keeps_logits else {}
    out = read(model(input_ids=sequences.input_ids[rows, : start + length - 1], attention_mask=mask, position_ids=position_ids(mask), use_cache=False, **keep))
    return out if out.shape[1] == length else out[:, -length:]  # a slice's backward would allocate the logits again


def _shared_prompt_forward(model, batch: RolloutBatch, rows: Tensor, read: Callable[[Any], Tensor], **prompt_kwargs: Any) -> list[Tensor]:
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
        **prompt_kwargs,
    )
    first = read(prompt)[inverse, -1:]  # the last prompt position predicts the first completion token
    length = _scored_length(batch, rows)
    if length == 1:
        return [first]
    cache = output_cache(prompt)
    cache.batch_select_indices(inverse)
    completions = model(  # completion tokens 1 .. length - 1 predict tokens 2 .. length
        input_ids=sequences.input_ids[rows, start : start + length - 1],
        attention_mask=sequences.attention_mask[rows, : start + length - 1],
        position_ids=prompt_positions[inverse, -1:] + 1 + torch.arange(length - 1, device=rows.device),
        **cache_kwargs(cache),
        use_cache=True,
    )
    return [first, read(completions)]


def token_logprobs(logits: Tensor, targets: Tensor, temperature: float, with_entropy: bool) -> tuple[Tensor, Tensor | None]:
    """fp32 log-probs of `targets` under temperature-scaled `logits` (`[N, T, V]`), and entropies
    if asked, with no fp32 copy of the logits kept for backward (`algorithms/chunked_softmax.py`)."""
    return chosen_logprobs(logits, targets, temperature, with_entropy)
