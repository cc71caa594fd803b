"""A tiny real Qwen2 policy and hand-built rollout batches for algorithm tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from algorithms.batch import RolloutBatch, SequenceBatch
from algorithms.context import TrainContext, TrainSettings
from algorithms.parallel import Parallel
from bench.config import ModelConfig
from bench.models import new_tiny_model
from evaluators.tasks import get_task
from evaluators.types import Example

# Smaller than the default tiny model so an update takes milliseconds.
TINY = ModelConfig(name="tiny", hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=64)


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Tiny matmuls run fastest on one thread, and never stall on a busy machine's thread pool."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass(frozen=True)
class FirstOfTwoRanks(Parallel):
    """Rank 0 of a two-process run seen alone: it owns the first half of each row split, and its sums and
    gradient all-reduce see only its own parts (the other rank's count as zero). Stands in for the process
    group so one process can check that a step hands the run's Parallel to the work it splits."""

    rank: int = 0
    world: int = 2

    def gather(self, obj):
        return [obj]

    def sum_gradients(self, params) -> None:
        return None


def tiny_context(lr: float = 1e-2, mini_batch_prompts: int = 2, micro_batch_size: int = 4, seed: int = 0) -> TrainContext:
    model, tokenizer = new_tiny_model(TINY, seed)
    settings = TrainSettings(
        lr=lr, weight_decay=0.0, grad_clip=1.0, warmup_steps=0, micro_batch_size=micro_batch_size,
        mini_batch_prompts=mini_batch_prompts, temperature=1.0, max_new_tokens=6, steps=10,
    )
    return TrainContext(model, tokenizer, get_task("gsm8k_synth"), settings, torch.device("cpu"))


def example(i: int, demo: str | None = "1+2=3\n#### 3") -> Example:
    return Example(id=f"q{i}", prompt=f"Ann has {i} pens, finds 2. How many?", answer=f"#### {i + 2}", demo=demo)


def rollout_batch(
    ctx: TrainContext, rewards: list[list[float]], examples: list[Example] | None = None, seed: int = 0
) -> RolloutBatch:
    """B prompts x n samples with the given rewards; random completions of 2 to 6 tokens."""
    n = len(rewards[0])
    examples = examples or [example(j) for j in range(len(rewards))]
    tokenizer = ctx.tokenizer
    texts = [ctx.task.format_prompt(e, tokenizer) for e in examples]
    prompts = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    generator = torch.Generator().manual_seed(seed)
    count = len(examples) * n
    width = 6
    completion = torch.randint(3, len(tokenizer), (count, width), generator=generator)
    lengths = torch.randint(2, width + 1, (count,), generator=generator)
    mask = (torch.arange(width) < lengths[:, None]).float()
    completion = torch.where(mask.bool(), completion, tokenizer.pad_token_id)
    sequences = SequenceBatch(
        input_ids=torch.cat([prompts["input_ids"].repeat_interleave(n, 0), completion], 1),
        attention_mask=torch.cat([prompts["attention_mask"].repeat_interleave(n, 0), mask.long()], 1),
        target_start=prompts["input_ids"].shape[1],
        target_mask=mask,
    )
    flat = torch.tensor(rewards, dtype=torch.float32).flatten()
    return RolloutBatch(
        sequences=sequences,
        sample_logprobs=torch.zeros(count, width),
        rewards=flat,
        correct=flat > 0,
        group_ids=torch.arange(len(examples)).repeat_interleave(n),
        examples=examples,
        completions=tokenizer.batch_decode(completion, skip_special_tokens=True),
        truncated=lengths == width,  # random ids hold no stop token: the full-width ones hit the cap
    )


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def all_finite(metrics: dict[str, float]) -> bool:
    return all(torch.isfinite(torch.tensor(float(v))) for v in metrics.values())
