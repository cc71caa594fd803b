"""One process of tests/test_sharding.py (torchrun, gloo): FSDP2-sharded and plain copies of one tiny
Qwen2, driven by algorithms/sharding.py; each rank writes what it measured to `<argv[1]>.rank<r>`, as JSON.
tests/test_sharding_one_process.py calls `measure` in its own process, on a group of one."""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist
from transformers import Qwen2Config, Qwen2ForCausalLM

from algorithms import sharding
from algorithms.precision import set_compute_dtype


def tiny(seed: int = 0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(config)


def loss(model, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids).logits.square().mean()


def measure() -> dict[str, object]:
    """What sharding does to one tiny Qwen2 against a plain copy, on this process of the initialised group."""
    rank, world = dist.get_rank(), dist.get_world_size()
    found: dict[str, object] = {}
    plain, model = tiny(), tiny()
    sharding.shard(model)
    found["local_fraction"] = sum(sharding.local(p).numel() for p in model.parameters()) / sum(p.numel() for p in plain.parameters())
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    plain_optimizer = torch.optim.AdamW(plain.parameters(), lr=1e-2)

    batches = [torch.randint(0, 64, (2, 5), generator=torch.Generator().manual_seed(i)) for i in range(3)]
    with sharding.gathered(model):
        found["gathered_is_whole"] = all(p.shape == q.shape for p, q in zip(model.parameters(), plain.parameters()))
        found["no_gradients_before"] = not sharding.has_gradients(model, params)
        # on two processes rank 0 trains two micro-batches, rank 1 one: neither forward nor backward may communicate
        for ids in batches if world == 1 else batches[:2] if rank == 0 else batches[2:]:
            loss(model, ids).backward()
        with torch.no_grad():  # decode loops of different lengths, as two ranks' rollouts are
            model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=2 + 5 * rank, do_sample=False, pad_token_id=0)
        found["gradients_noted"] = sharding.has_gradients(model, params)
        sharding.reduce_gradients(model)
        found["no_gradients_after_reduce"] = not sharding.has_gradients(model, params)
        for ids in batches:
            loss(plain, ids).backward()
        summed = {n: p.grad for n, p in plain.named_parameters()}
        found["grad_max_diff"] = max(float((p.grad.full_tensor() - summed[n]).abs().max()) for n, p in model.named_parameters())
        norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        found["norm"] = [float(norm.full_tensor()), float(torch.nn.utils.clip_grad_norm_(plain.parameters(), 1.0))]
        optimizer.step()
        plain_optimizer.step()
        sharding.after_step(model)
        with torch.no_grad():  # the gathered copy is the stepped one
            found["logits_after_step_diff"] = float((model(input_ids=batches[0]).logits - plain(input_ids=batches[0]).logits).abs().max())

    frozen = sharding.frozen_copy(model)
    with sharding.gathered(frozen), torch.no_grad():
        found["frozen_diff"] = float((frozen(input_ids=batches[1]).logits - plain(input_ids=batches[1]).logits).abs().max())
    found["frozen_is_frozen"] = not any(p.requires_grad for p in frozen.parameters())

    weights = sharding.full_weights(model, keep=True)
    expected = {k: v for k, v in plain.state_dict().items() if k != "lm_head.weight"}  # tied: saved once, as save_pretrained does
    found["weights_keys_match"] = sorted(weights) == sorted(expected)
    found["weights_diff"] = max(float((weights[k] - expected[k]).abs().max()) for k in expected)
    moments = sharding.full_state(optimizer.state_dict(), keep=rank == 0)
    if rank != 0:
        found["dropped_elsewhere"] = moments["state"][0]["exp_avg"] is None
    moments = sharding.full_state(optimizer.state_dict(), keep=True)

    fresh = tiny(seed=1)
    sharding.shard(fresh)
    missing, unexpected = sharding.load_full_weights(fresh, weights)
    found["load_missing"], found["load_unexpected"] = missing, unexpected
    fresh_optimizer = torch.optim.AdamW(list(fresh.parameters()), lr=1e-2)
    sharding.load_optimizer(fresh_optimizer, moments)
    reloaded = sharding.full_state(fresh_optimizer.state_dict(), keep=True)["state"]
    found["moments_diff"] = max(
        float((reloaded[i][k] - moments["state"][i][k]).abs().max()) for i in moments["state"] for k in ("exp_avg", "exp_avg_sq")
    )
    found["reloaded_weights_diff"] = max(float((w - weights[k]).abs().max()) for k, w in sharding.full_weights(fresh, keep=True).items())

    low = tiny()
    set_compute_dtype(low, torch.bfloat16)
    sharding.shard(low)
    with sharding.gathered(low):
        found["bf16_gathered_dtypes"] = sorted({str(p.dtype) for p in low.parameters()})
    found["bf16_shard_dtypes"] = sorted({str(p.dtype) for p in low.parameters()})
    return found


def main(out: str) -> None:
    dist.init_process_group("gloo")
    found = measure()
    with open(f"{out}.rank{dist.get_rank()}", "w") as f:
        json.dump(found, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
