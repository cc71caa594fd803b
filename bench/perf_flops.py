"""bench.perf's `flops` section: achieved FLOP/s of each phase as a fraction of a matmul peak measured
on the spot (model FLOPs utilisation, the figure PaLM and Megatron report).

The peak is the best of timed `torch.mm` calls at the shapes of the model's linear layers, on the
thread count and dtype the run uses: what this machine's BLAS reaches on exactly these matrices.
A phase's FLOPs are the useful ones, counted from its real token lengths: 2 per weight per token for
the linear layers (the output head included), 4 per layer, head dimension and attended position for
attention (QK^T and AV), each shared prompt once per group; a backward costs twice its forward.
Padding, finished rows still in the decode batch and masked positions of the preallocated cache are
work the hardware did that the count leaves out, so they lower the fraction, as they should.
"""

from __future__ import annotations

import statistics
import time

import torch
from omegaconf import DictConfig
from torch import Tensor

from bench.generation_rounds import GroupGenerator, group_sampling
from bench.runner import scratch_runner


def linear_weights(model: torch.nn.Module) -> list[Tensor]:
    """The weight of every linear layer the forward runs (a tied output head once, as a matmul)."""
    return [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]


def matmul_peak(model: torch.nn.Module, rows: int, repeats: int = 5) -> float:
    """FLOP/s of the fastest `[rows, in] @ [in, out]` among the model's linear shapes (median of `repeats`)."""
    weight = next(model.parameters())
    return max(matmul_rate(rows, i, o, weight.dtype, weight.device, repeats) for o, i in {tuple(w.shape) for w in linear_weights(model)})


def matmul_rate(rows: int, inner: int, cols: int, dtype: torch.dtype, device: torch.device, repeats: int = 5) -> float:
    """FLOP/s of one timed `[rows, inner] @ [inner, cols]` (median of `repeats`, after a warm-up)."""
    x, w = torch.randn(rows, inner, dtype=dtype, device=device), torch.randn(inner, cols, dtype=dtype, device=device)
    torch.mm(x, w)
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.mm(x, w)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * rows * inner * cols / statistics.median(times)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def forward_flops(model: torch.nn.Module, prompt_lengths: Tensor, completion_lengths: Tensor, n: int) -> float:
    """Useful forward FLOPs over groups of `n` rows sharing a prompt (`prompt_lengths[i]` is row i's):
    each prompt once, each completion token attending to its prompt and the tokens before it."""
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    attention_width = 4 * config.num_hidden_layers * config.num_attention_heads * head_dim  # per attended position
    per_token = 2 * sum(w.numel() for w in linear_weights(model))
    prompts = prompt_lengths[::n].double()
    completions, starts = completion_lengths.double(), prompt_lengths.double()
    tokens = prompts.sum() + completions.sum()
    # position p (1-based) attends to p positions: a prompt of P sums P(P+1)/2, a completion of C after P sums C*P + C(C+1)/2
    attended = (prompts * (prompts + 1) / 2).sum() + (completions * starts + completions * (completions + 1) / 2).sum()
    return float(per_token * tokens + attention_width * attended)


def update_passes(pg, num_prompts: int) -> int:
    """Forward-equivalents of a policy-gradient update: forward + backward (2x) per epoch, and one
    no-grad forward each for the frozen reference and for stored old log-probs, where they run."""
    return 3 * pg.settings.ppo_epochs + int(pg.reference is not None) + int(pg.off_policy(num_prompts))


def lengths(rollouts) -> tuple[Tensor, Tensor]:
    """Real prompt and completion lengths of each row."""
    start = rollouts.sequences.target_start
    return rollouts.sequences.attention_mask[:, :start].sum(-1), rollouts.mask.sum(-1)


def flops_rows(cfg: DictConfig, repeats: int) -> list[dict]:
    """Generation, GRPO's update forward+backward and evaluation generation, each as achieved FLOP/s
    and its fraction of the matmul peak; medians over `repeats` steps after one warm-up step."""
    runner = scratch_runner(cfg)
    session, n = runner.session, cfg.rollout.n
    model = session.model
    generate_rates, update_rates = [], []
    for step in range(repeats + 1):
        generator = GroupGenerator(session, runner.sampler, runner.sampling, group_sampling(cfg))
        examples, rollouts, metrics = generator.generate(step)
        prompt_lengths, completion_lengths = lengths(rollouts)
        flops = forward_flops(model, prompt_lengths, completion_lengths, n)
        synchronize(session.device)
        started = time.perf_counter()
        trained = runner.algorithm.update(examples, rollouts)
        synchronize(session.device)
        update_s = time.perf_counter() - started - trained["time/optimizer"]
        if step:
            generate_rates.append(flops / metrics["time/generate"])
            update_rates.append(update_passes(runner.algorithm.pg, len(examples)) * flops / update_s)
    prompts = [session.task.format_prompt(e, session.tokenizer) for e in session.problems]
    eval_rates = []
    for r in range(repeats):
        synchronize(session.device)
        started = time.perf_counter()
        generation = session.engine.generate(prompts, cfg.eval.n, session.sampling, seed=session.eval_seed + r)
        synchronize(session.device)
        seconds = time.perf_counter() - started
        eval_flops = forward_flops(model, generation.prompt_mask.sum(-1), generation.completion_mask.sum(-1), cfg.eval.n)
        eval_rates.append(eval_flops / seconds)
    tokens_per_sequence = float(prompt_lengths.float().mean() + completion_lengths.float().mean())  # the last training step's
    peak = matmul_peak(model, int(tokens_per_sequence * min(len(completion_lengths), cfg.train.micro_batch_size)))  # one micro-batch
    weight = next(model.parameters())
    square = matmul_rate(2048, 2048, 2048, weight.dtype, weight.device)  # for scale: what large matrices reach here
    rows = [
        {"section": "flops", "name": "matmul peak, model shapes", "flops_per_s": peak, "ratio": 1.0},
        {"section": "flops", "name": "matmul 2048x2048 (scale)", "flops_per_s": square, "ratio": square / peak},
    ]
    for name, rates in (("generation", generate_rates), ("update forward+backward", update_rates), ("evaluation generation", eval_rates)):
        rate = statistics.median(rates)
        rows.append({"section": "flops", "name": name, "flops_per_s": rate, "ratio": rate / peak})
    return rows
