"""When a vLLM engine colocated with training sleeps, wakes and takes new weights.

vLLM's sleep mode (`LLM.sleep(level)`, `LLM.wake_up(tags)`, vllm/entrypoints/llm.py)
gives the GPU back to training between generations: level 1 offloads the
weights to CPU memory and drops the KV cache; level 2 drops both, so the
weights must be loaded again before the next generation. The order here is
TRL's colocate mode (`VLLMGeneration.sync_weights` / `generate`,
trl/generation/vllm_generation.py):
1. the trainer's cached allocator blocks go back to the driver
   (`torch.cuda.empty_cache()`) before vLLM maps its memory again, so the
   blocks the backward pass left cached never count twice;
2. the weights wake first and alone: the sync writes into mapped memory while
   the KV cache, the large part, is still released;
3. after every weight sync the prefix cache is reset: cached prompt blocks hold
   keys and values of the old weights;
4. the KV cache wakes only to generate, and the engine sleeps right after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import torch

from bench.lora import merged_weights

WAKE_ORDER = ("weights", "kv_cache")
SYNC_CHUNK = 64  # tensors per load call: merged LoRA weights are built a chunk at a time, never all at once


def release_cached_blocks() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk


class ColocatedLLM:
    """Drives a `vllm.LLM` (built with `enable_sleep_mode` when `sleep_level > 0`) through sleep, sync and generation.

    `sleep_level` 0 never sleeps. The engine starts asleep, so training has the
    memory until the first generation. `policy` is the training module whose
    weights (merged, for a LoRA policy: bench/lora.py) vLLM must serve.
    """

    def __init__(self, llm: Any, policy: torch.nn.Module, sleep_level: int, release_cache: Callable[[], None] = release_cached_blocks) -> None:
        if sleep_level not in (0, 1, 2):
            raise ValueError(f"vLLM sleep level must be 0 (never sleep), 1 or 2, got {sleep_level}")
        self.llm, self.policy, self.sleep_level, self.release_cache = llm, policy, sleep_level, release_cache
        self.asleep: set[str] = set()
        self.weights_stale = False  # the weights vLLM holds are not the policy's (level 2 dropped them)
        self.rest()

    def rest(self) -> None:
        if self.sleep_level and not self.asleep:
            self.llm.sleep(level=self.sleep_level)
            self.asleep = set(WAKE_ORDER)
            self.weights_stale = self.sleep_level == 2

    def wake(self, *tags: str) -> None:
        waking = [tag for tag in WAKE_ORDER if tag in tags and tag in self.asleep]
        if not waking:
            return
        self.release_cache()
        for tag in waking:
            self.llm.wake_up(tags=[tag])
            self.asleep.discard(tag)

    def sync(self, policy: torch.nn.Module) -> None:
        """Load `policy`'s weights into vLLM (weights awake, KV cache still asleep), then reset the prefix cache."""
        self.policy = policy
        self.wake("weights")
        for chunk in chunks(iter(merged_weights(policy)), SYNC_CHUNK):
            self.llm.collective_rpc("load_policy_weights", args=(chunk,))
        self.llm.reset_prefix_cache()
        self.weights_stale = False

    def generate(self, prompts: list[str], params: Any) -> list[Any]:
        """`llm.generate` with every tag awake (and the policy's weights reloaded if sleep dropped them), then sleep."""
        self.wake("weights")
        if self.weights_stale:
            self.sync(self.policy)
        self.wake("kv_cache")
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        self.rest()
        return outputs

