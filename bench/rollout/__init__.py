"""Rollout engines: `generate(prompts, n, sampling, seed) -> Generation`."""

from __future__ import annotations

from bench.rollout.types import Engine, Generation, Sampling


def build_engine(name: str, model, tokenizer, device, batch_size: int) -> Engine:
    if name == "hf":
        from bench.rollout.hf import HFEngine

        return HFEngine(model, tokenizer, device, batch_size)
    if name == "vllm":
        from bench.rollout.vllm import VLLMEngine

        return VLLMEngine(model, tokenizer, device, batch_size)
    raise ValueError(f"unknown rollout engine {name!r}; known: hf, vllm")


__all__ = ["Engine", "Generation", "Sampling", "build_engine"]
