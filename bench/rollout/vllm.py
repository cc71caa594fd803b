"""Rollouts with vLLM, colocated with training on the same GPU (optional extra).

`pip install -e ".[vllm]"` on a CUDA machine. vLLM is imported lazily, its
version is checked against the supported range at start, and every failure
(missing package, no CUDA, unsupported version) says what to do.

Colocation: vLLM takes `rollout.gpu_memory_utilization` of the GPU; with
`rollout.sleep=true` it releases its KV cache between generations (sleep level
1) so training gets the memory back. Weights are synced into vLLM after every
optimizer step through a worker extension calling the model's `load_weights`
(tensor parallel size 1, engine core in-process).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata

import torch
from packaging.version import Version

from algorithms.stops import Stops, length_mask, stop_token_ids
from bench.rollout.types import Generation, Sampling, pad_and_cat

SUPPORTED_VLLM = (Version("0.8.0"), Version("1.0.0"))  # [low, high)


def require_vllm():
    """Import vllm or fail with a message naming the fix."""
    try:
        version = Version(metadata.version("vllm"))
    except metadata.PackageNotFoundError:
        raise RuntimeError('rollout=vllm needs vLLM: pip install -e ".[vllm]" on a CUDA machine, or use rollout=hf') from None
    low, high = SUPPORTED_VLLM
    if not low <= version < high:
        raise RuntimeError(f"vLLM {version} is not supported; rlvr-bench supports {low} <= vllm < {high}")
    if not torch.cuda.is_available():
        raise RuntimeError("rollout=vllm needs a CUDA GPU; on a CPU use rollout=hf")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine core in this process: weights sync by reference
    import vllm

    return vllm


class PolicyWeightLoader:
    """vLLM worker extension: receives the trainer's weights."""

    def load_policy_weights(self, named_tensors: list[tuple[str, torch.Tensor]]) -> None:
        self.model_runner.model.load_weights(weights=named_tensors)


class VLLMEngine:
    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device, batch_size: int, gpu_memory_utilization: float, sleep: bool) -> None:
        vllm = require_vllm()
        self.vllm, self.tokenizer, self.sleep, self.device = vllm, tokenizer, sleep, device
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
        self.llm = vllm.LLM(
            model=model.config._name_or_path,
            dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
            gpu_memory_utilization=gpu_memory_utilization,
            enable_sleep_mode=sleep,
            max_num_seqs=batch_size,
            worker_extension_cls=f"{__name__}.PolicyWeightLoader",
        )
        self.sleeping = False
        self._rest()

    def _rest(self) -> None:
        if self.sleep and not self.sleeping:
            self.llm.sleep(level=1)
            self.sleeping = True

    def _wake(self) -> None:
        if self.sleeping:
            self.llm.wake_up()
            self.sleeping = False

    def sync_weights(self, model: torch.nn.Module) -> None:
        self._wake()
        self.llm.collective_rpc("load_policy_weights", args=(list(model.state_dict().items()),))
        self._rest()

    def generate(
        self, prompts: list[str], n: int, sampling: Sampling, seed: int, batch_size: int | None = None,
        on_prompts_done: Callable[[int], None] | None = None,
    ) -> Generation:
        self._wake()
        stops = Stops(self.stop_ids, tuple(sampling.stop))
        params = self.vllm.SamplingParams(
            n=n, temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_new_tokens, seed=seed, logprobs=0,
            stop_token_ids=list(stops.token_ids), stop=list(stops.strings) or None,
        )
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        self._rest()
        if on_prompts_done is not None:
            on_prompts_done(len(prompts))
        pad = self.tokenizer.pad_token_id
        prompt_rows, completion_rows, logprob_rows, truncated = [], [], [], []
        for output in outputs:  # one per prompt, each with n samples: prompt-major like every engine
            for sample in output.outputs:  # vLLM ends token_ids at the stop token or the token completing a stop string
                prompt_rows.append(torch.tensor(output.prompt_token_ids, device=self.device))
                completion_rows.append(torch.tensor(sample.token_ids or [pad], device=self.device))
                logprobs = [step[token].logprob for step, token in zip(sample.logprobs, sample.token_ids)]
                logprob_rows.append(torch.tensor(logprobs or [0.0], device=self.device))
                truncated.append(sample.finish_reason == "length")
        prompt_ids = pad_and_cat([r[None] for r in prompt_rows], pad, left=True)
        completion_ids = pad_and_cat([r[None] for r in completion_rows], pad)
        lengths = torch.tensor([len(r) for r in completion_rows], device=self.device)
        mask = length_mask(lengths, completion_ids.shape[1])
        return Generation(
            prompt_ids=prompt_ids,
            prompt_mask=(pad_and_cat([torch.ones_like(r)[None] for r in prompt_rows], 0, left=True)),
            completion_ids=completion_ids,
            completion_mask=mask,
            logprobs=pad_and_cat([r[None] for r in logprob_rows], 0.0) * mask,
            texts=stops.texts(completion_ids, lengths, self.tokenizer),
            truncated=torch.tensor(truncated, device=self.device),
        )
