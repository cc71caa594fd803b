"""What every rollout engine takes and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 48
    stop: tuple[str, ...] = ()  # stop strings: a completion ends with the token that completes one (algorithms/stops.py)


@dataclass(frozen=True)
class Generation:
    """n completions per prompt, prompt-major: row j*n + g is sample g of prompt j."""

    prompt_ids: Tensor  # [N, P] left-padded
    prompt_mask: Tensor  # [N, P]
    completion_ids: Tensor  # [N, T] right-padded with pad
    completion_mask: Tensor  # [N, T] 1 up to and including the first stop (algorithms/stops.py)
    logprobs: Tensor  # [N, T] sampler log-probs of the completion tokens (0 on padding)
    texts: list[str]  # [N] decoded completions, special tokens dropped, cut before a stop string
    truncated: Tensor  # [N] bool: reached max_new_tokens without a stop

    @property
    def num_tokens(self) -> int:
        return int(self.completion_mask.sum())


def pad_and_cat(tensors: list[Tensor], value: float, left: bool = False) -> Tensor:
    """Concatenate `[n_i, L_i]` tensors along rows, padding columns to the longest."""
    width = max(t.shape[1] for t in tensors)
    padded = []
    for t in tensors:
        fill = t.new_full((t.shape[0], width - t.shape[1]), value)
        padded.append(torch.cat([fill, t] if left else [t, fill], dim=1))
    return torch.cat(padded)


class Engine(Protocol):
    def generate(
        self, prompts: list[str], n: int, sampling: Sampling, seed: int, batch_size: int | None = None,
        on_prompts_done: Callable[[int], None] | None = None,  # called with the prompts each call finished
        first_prompt: int = 0,  # index of prompts[0] in the set `seed` draws for: a process's slice keeps its draws
    ) -> Generation: ...

    def sync_weights(self, model: torch.nn.Module) -> None: ...
