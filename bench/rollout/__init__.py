"""Rollout engines: `generate(prompts, n, sampling, seed) -> Generation`."""

from __future__ import annotations

from bench.rollout.types import Engine, Generation, Sampling


def build_engine(rollout, model, tokenizer, device) -> Engine:
    """The engine named by `rollout.engine`, configured by the rest of `rollout.*`."""
    if rollout.engine == "hf":
        from bench.rollout.hf import HFEngine

        return HFEngine(model, tokenizer, device, rollout.batch_size, kv_cache_mib=rollout.kv_cache_mib)
    if rollout.engine == "vllm":
        from bench.rollout.vllm import VLLMEngine  # imports vllm lazily, with a clear error

        sleep_level = rollout.sleep_level if rollout.sleep else 0
        return VLLMEngine(model, tokenizer, device, rollout.batch_size, rollout.gpu_memory_utilization, sleep_level, rollout.max_model_len)
    raise ValueError(f"unknown rollout engine {rollout.engine!r}; known: hf, vllm")


__all__ = ["Engine", "Generation", "Sampling", "build_engine"]
