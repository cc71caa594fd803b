"""Turn a generation into a scored RolloutBatch (the reward is the eval scorer)."""

from __future__ import annotations

import torch

from algorithms.batch import RolloutBatch, SequenceBatch
from bench.rollout import Generation
from evaluators.types import Example, score_example


def score_generation(task, generation: Generation, examples: list[Example], n: int) -> RolloutBatch:
    scores = [score_example(task, text, examples[i // n]) for i, text in enumerate(generation.texts)]
    device = generation.completion_ids.device
    sequences = SequenceBatch(
        input_ids=torch.cat([generation.prompt_ids, generation.completion_ids], dim=1),
        attention_mask=torch.cat([generation.prompt_mask, generation.completion_mask.long()], dim=1),
        target_start=generation.prompt_ids.shape[1],
        target_mask=generation.completion_mask,
    )
    return RolloutBatch(
        sequences=sequences,
        sample_logprobs=generation.logprobs,
        rewards=torch.tensor([s.reward for s in scores], dtype=torch.float32, device=device),
        correct=torch.tensor([s.correct for s in scores], dtype=torch.bool, device=device),
        group_ids=torch.arange(len(examples), device=device).repeat_interleave(n),
        examples=examples,
        completions=generation.texts,
        truncated=generation.truncated,
    )
