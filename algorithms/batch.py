"""The tensors an update consumes: token sequences with a loss region, and rollouts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from algorithms.stops import demo_end_id
from evaluators.types import Example


@dataclass(frozen=True)
class SequenceBatch:
    """Token sequences whose tokens from `target_start` on are scored.

    Padding may sit on either side: positions come from `attention_mask`.
    """

    input_ids: Tensor  # [N, L]
    attention_mask: Tensor  # [N, L] 1 on real tokens
    target_start: int  # first scored position
    target_mask: Tensor  # [N, L - target_start] 1 on tokens that carry loss

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, index: Tensor) -> SequenceBatch:
        return replace(
            self,
            input_ids=self.input_ids[index],
            attention_mask=self.attention_mask[index],
            target_mask=self.target_mask[index],
        )

    def to(self, device: torch.device | str) -> SequenceBatch:
        return replace(
            self, input_ids=self.input_ids.to(device), attention_mask=self.attention_mask.to(device), target_mask=self.target_mask.to(device)
        )


@dataclass(frozen=True)
class RolloutBatch:
    """n sampled completions for each of B prompts (N = B*n), scored.

    Sample j*n + g is the g-th completion of prompt j. `sequences.target_start` is
    the padded prompt length P; the targets are the completions `[N, T]`.
    """

    sequences: SequenceBatch  # prompt (left-padded) + completion (right-padded)
    sample_logprobs: Tensor  # [N, T] log-probs of the sampled tokens under the sampler
    rewards: Tensor  # [N]
    correct: Tensor  # [N] bool
    group_ids: Tensor  # [N] prompt index in `examples`
    examples: list[Example]  # [B]
    completions: list[str]  # [N] decoded text
    truncated: Tensor  # [N] bool: cut at the length cap before any stop (the engine's stop definition)

    @property
    def mask(self) -> Tensor:
        return self.sequences.target_mask  # [N, T]

    @property
    def completion_ids(self) -> Tensor:
        return self.sequences.input_ids[:, self.sequences.target_start :]  # [N, T]

    def to(self, device: torch.device | str) -> RolloutBatch:
        """The batch on `device` (to the CPU to send it to other processes, back to compute on it)."""
        return replace(
            self,
            sequences=self.sequences.to(device),
            sample_logprobs=self.sample_logprobs.to(device),
            rewards=self.rewards.to(device),
            correct=self.correct.to(device),
            group_ids=self.group_ids.to(device),
            truncated=self.truncated.to(device),
        )


def tokenize_demos(tokenizer, prompts: list[str], demos: list[str], device: torch.device | str) -> SequenceBatch:
    """Right-padded `prompt + demo + end`, with loss on the demo and its end token.

    The end is what a completion stops on: the chat template's end-of-turn token
    for chat prompts, else eos (`algorithms.stops.demo_end_id`).
    """
    rows, masks = [], []
    end = demo_end_id(tokenizer)
    for prompt, demo in zip(prompts, demos):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        demo_ids = tokenizer(demo, add_special_tokens=False)["input_ids"] + [end]
        rows.append(prompt_ids + demo_ids)
        masks.append([0] * len(prompt_ids) + [1] * len(demo_ids))
    length = max(map(len, rows))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([r + [pad] * (length - len(r)) for r in rows], device=device)
    attention = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows], device=device)
    loss_mask = torch.tensor([m + [0] * (length - len(m)) for m in masks], device=device)
    # Token t is predicted from position t-1, so scoring starts at position 1.
    return SequenceBatch(input_ids, attention, target_start=1, target_mask=loss_mask[:, 1:].float())
