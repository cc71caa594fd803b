"""Rollouts with vLLM, colocated with training on the same GPU (optional extra).

`pip install -e ".[vllm]"` on a CUDA machine. vLLM is imported lazily, its
installed version is checked against the window below before the import, and
every failure (missing package, no CUDA, a version outside the window) says
what to do.

Colocation: vLLM takes `rollout.gpu_memory_utilization` of the GPU; with
`rollout.sleep=true` it sleeps between generations at `rollout.sleep_level`
(1: weights to CPU memory, KV cache dropped; 2: both dropped, the policy's
weights are loaded again on waking). The order of sleep, wake, weight sync and
prefix-cache reset is in bench/rollout/vllm_colocation.py. Weights are synced
after every optimizer step through a worker extension calling the model's
`load_weights` (tensor parallel size 1, engine core in-process); a LoRA
policy sends its merged weights (bench/lora.py). `rollout.max_model_len` caps
prompt + completion tokens (null: the checkpoint's context length).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata

import torch
from packaging.version import InvalidVersion, Version

from algorithms.precision import compute_dtype
from algorithms.stops import Stops, length_mask, stop_token_ids
from bench.rollout.sampling import prompt_seed
from bench.rollout.types import Generation, Sampling, pad_and_cat
from bench.rollout.vllm_colocation import ColocatedLLM

# [low, high): every vLLM release in it pins torch==2.13.0 and accepts transformers >= 5.5.3
# (0.31 caps it below 5.18, 0.32 below 5.20); 0.33 moves to torch 2.14 (PyPI metadata of each release).
SUPPORTED_VLLM = (Version("0.27.1"), Version("0.33"))
VLLM_TORCH = "2.13.0"


def vllm_version_error(installed: str) -> str | None:
    """Why vLLM `installed` cannot run here (None when it can), naming the supported window and its torch."""
    low, high = SUPPORTED_VLLM
    window = f"rlvr-bench supports {low} <= vllm < {high} (all pinned to torch=={VLLM_TORCH})"
    try:
        version = Version(installed)
    except InvalidVersion:
        return f"vLLM version {installed!r} is not a version number; {window}"
    if not low <= version < high:
        return f'vLLM {installed} is not supported: {window}; pip install -e ".[vllm]" installs one'
    return None


def require_vllm():
    """Import vllm or fail with a message naming the fix."""
    try:
        installed = metadata.version("vllm")
    except metadata.PackageNotFoundError:
        raise RuntimeError('rollout=vllm needs vLLM: pip install -e ".[vllm]" on a CUDA machine, or use rollout=hf') from None
    error = vllm_version_error(installed)
    if error:
        raise RuntimeError(error)
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
    def __init__(
        self, model: torch.nn.Module, tokenizer, device: torch.device, batch_size: int, gpu_memory_utilization: float,
        sleep_level: int, max_model_len: int | None = None,
    ) -> None:
        """`sleep_level` 0 keeps vLLM awake; 1 or 2 is the `LLM.sleep` level between generations."""
        vllm = require_vllm()
        self.vllm, self.tokenizer, self.device = vllm, tokenizer, device
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
        llm = vllm.LLM(
            model=model.config._name_or_path,
            dtype=str(compute_dtype(model)).removeprefix("torch."),  # the policy's compute dtype, not its fp32 master weights
            gpu_memory_utilization=gpu_memory_utilization,
            enable_sleep_mode=sleep_level > 0,
            max_num_seqs=batch_size,
            max_model_len=max_model_len,
            worker_extension_cls=f"{__name__}.PolicyWeightLoader",
        )
        self.colocated = ColocatedLLM(llm, model, sleep_level)

    def sync_weights(self, model: torch.nn.Module) -> None:
        self.colocated.sync(model)

    def generate(
        self, prompts: list[str], n: int, sampling: Sampling, seed: int, batch_size: int | None = None,
        on_prompts_done: Callable[[int], None] | None = None, first_prompt: int = 0,
    ) -> Generation:
        """One request per prompt, seeded from (seed, prompt index) as the HF engine's draws, so a prompt's
        samples do not depend on the batch or on which process generates it."""
        stops = Stops(self.stop_ids, tuple(sampling.stop))
        params = [
            self.vllm.SamplingParams(
                n=n, temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_new_tokens,
                seed=prompt_seed(seed, first_prompt + i), logprobs=0, stop_token_ids=list(stops.token_ids),
                stop=list(stops.strings) or None,
            )
            for i in range(len(prompts))
        ]
        outputs = self.colocated.generate(prompts, params)
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
