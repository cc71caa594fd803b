"""The update's peak memory on a real vocabulary (`python -m bench.perf --sections memory`).

A Qwen2 with Qwen2.5's 151,936-token vocabulary and a small hidden size (so the
logits dominate, as they do at 0.5-1.5B), bf16 compute over fp32 weights, one
micro-batch of SEQUENCES completions of COMPLETION_TOKENS tokens: the policy forward
and backward of a token-mean log-prob loss. Each variant runs in a process of its
own, since a CPU process's peak RSS never comes down; the figure is the peak above
what the process held just before the update (weights, batch):
  log_softmax(fp32)      the log-prob path before algorithms/chunked_softmax.py
  chunked                chunked log-probs with a recomputing backward
  chunked+checkpointing  ... and gradient checkpointing (full-sequence forwards)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from algorithms.batch import RolloutBatch, SequenceBatch
from algorithms.checkpointing import enable_checkpointing
from algorithms.logprobs import completion_logprobs, shared_prompt_forward
from algorithms.precision import set_compute_dtype

VOCAB = 151_936
PROMPT_TOKENS, COMPLETION_TOKENS, SEQUENCES = 64, 1024, 2
VARIANTS = ("log_softmax(fp32)", "chunked", "chunked+checkpointing")


def real_vocab_model(device: torch.device) -> torch.nn.Module:
    config = Qwen2Config(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    set_compute_dtype(model, torch.bfloat16)
    return model.to(device).train()


def one_group(device: torch.device) -> RolloutBatch:
    """SEQUENCES full-length completions of one prompt."""
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, VOCAB, (1, PROMPT_TOKENS), generator=generator).expand(SEQUENCES, -1)
    completion = torch.randint(0, VOCAB, (SEQUENCES, COMPLETION_TOKENS), generator=generator)
    input_ids = torch.cat([prompt, completion], 1).to(device)
    mask = torch.ones(SEQUENCES, COMPLETION_TOKENS, device=device)
    sequences = SequenceBatch(input_ids, torch.ones_like(input_ids), PROMPT_TOKENS, mask)
    zeros = torch.zeros(SEQUENCES, device=device)
    return RolloutBatch(sequences, mask.clone(), zeros, zeros.bool(), torch.zeros(SEQUENCES, dtype=torch.long, device=device), [], [""] * SEQUENCES, zeros.bool())


def fp32_log_softmax_logprobs(model: torch.nn.Module, batch: RolloutBatch, rows: torch.Tensor) -> torch.Tensor:
    """The baseline: the full fp32 log-softmax over the shared-prompt logits."""
    logits = torch.cat(shared_prompt_forward(model, batch, rows, lambda out: out.logits, logits_to_keep=1), 1)
    logp = torch.log_softmax(logits.float(), dim=-1)
    return logp.gather(-1, batch.completion_ids[rows].unsqueeze(-1)).squeeze(-1)


def update_peak_mib(variant: str, device: torch.device) -> float:
    model, batch = real_vocab_model(device), one_group(device)
    rows = torch.arange(SEQUENCES, device=device)
    if variant == "chunked+checkpointing":
        enable_checkpointing(model)
    held = _held_mib(device)
    if variant == "log_softmax(fp32)":
        logp = fp32_log_softmax_logprobs(model, batch, rows)
    else:
        logp = completion_logprobs(model, batch, rows)[0]
    (-(logp * batch.mask).sum() / batch.mask.sum()).backward()
    return _peak_mib(device) - held


def _held_mib(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def update_memory_rows(device: torch.device) -> list[dict]:
    """One row per variant, each measured in a fresh process, with its ratio to the fp32 baseline."""
    peaks = {}
    for variant in VARIANTS:
        command = [sys.executable, "-m", "bench.perf_memory", "--variant", variant, "--device", str(device)]
        peaks[variant] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["mib"]
    shape = f"{SEQUENCES}x{COMPLETION_TOKENS} tok, V={VOCAB}"
    return [
        {"section": "memory", "name": f"update {variant}", "mib": mib, "ratio": mib / peaks[VARIANTS[0]], "shape": shape}
        for variant, mib in peaks.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="one variant's update peak, as JSON (run by bench.perf)")
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(json.dumps({"mib": update_peak_mib(args.variant, torch.device(args.device))}))


if __name__ == "__main__":
    main()
