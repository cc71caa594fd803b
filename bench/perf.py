"""`python -m bench.perf`: speed and memory benchmark (a benchmark, never a test).

Every comparison is measured side by side in one process on the same model,
prompts and settings, repeated, and reported as medians and ratios against the
named baseline. Prints one table; writes JSON under results/perf/.

Sections:
  rollout  tokens/s of our HF engine (prefix-shared, preallocated KV cache) vs
           plain `model.generate` on n copies of each prompt.
  step     one GRPO step split into generate / score / forward+backward / optimizer.
  memory   peak resident memory of the process (CPU) or peak CUDA allocation, and the peak
           after each section it ran (the first to reach the peak holds it); and the
           update's peak on a 151,936-token vocabulary at 1,024 completion tokens, for
           the fp32 log-softmax path, chunked log-probs, and chunked + checkpointing
           (bench/perf_memory.py), as ratios to the first.
  dash     GRPO steps and wall time to a target pass@1, with the DASH options
           (preemptive sampling + gradient filtering) and without. Training runs in
           slices of --dash-micro-batch sequences (default 8, TRL's per-device batch:
           the memory-bound regime DASH targets); without preemptive sampling each
           slice is generated on its own, as TRL did.
  flops    achieved FLOP/s of generation, GRPO's update forward+backward and evaluation generation,
           as fractions of a matmul peak timed on the spot at the model's shapes (bench/perf_flops.py).
  job      one default `python -m bench` job (fresh base cache) by phase: base build, evaluations,
           the training steps' generation, scoring and update, logging, writing (bench/perf_job.py).
  scaling  one GRPO step's wall time on 1 and 2 processes (torchrun; one thread each on the CPU,
           one GPU each on CUDA, where 2 is every device), replicated and with sharding=fsdp, on
           the same global batch, as a ratio to 1 process (bench/perf_scaling.py).
  trl      our GRPO vs TRL's GRPOTrainer to the same target (optional `perf` extra).
           Per seed, TRL stops once it has trained for twice our time; the ratio is
           the median over seeds of ours / TRL's time, an upper bound ("<") when TRL
           missed the target in some seed (its trained time stands in for its time).

Time-to-target rows run once per seed (--seeds) and report medians; evaluation
(every --eval-every steps, 200 problems x 16 samples) is excluded from the times.
`--summarise FILE` prints the table of a saved run, its summaries recomputed from
the per-seed runs it stored.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import resource
import statistics
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from bench import build
from bench.app import compose_config
from bench.io import atomic_write_json
from bench.perf_flops import flops_rows
from bench.perf_job import job_rows
from bench.perf_memory import update_memory_rows
from bench.perf_scaling import scaling_rows
from bench.provenance import provenance
from bench.rollout.hf import HFEngine
from bench.runner import scratch_runner
from bench.session import open_session

STEP_PARTS = ("time/generate", "time/score", "time/update", "time/optimizer")


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for r in range(repeats):
        start = time.perf_counter()
        result = fn(r)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rollout_rows(cfg: DictConfig, sequences: int, n: int, repeats: int) -> list[dict]:
    session = open_session(cfg)
    prompts = [session.task.format_prompt(e, session.tokenizer) for e in session.task.load("test")[: sequences // n]]
    sampling = build.rollout_sampling(cfg)
    rows = []
    for name, share_prefix in (("model.generate", False), ("hf engine", True)):
        engine = HFEngine(session.model, session.tokenizer, session.device, sequences, share_prefix=share_prefix)
        seconds, generation = median_time(lambda r: engine.generate(prompts, n, sampling, seed=r), repeats)
        rows.append({"section": "rollout", "name": name, "sequences": len(prompts) * n, "seconds": seconds, "tokens_per_s": generation.num_tokens / seconds})
    baseline = rows[0]["tokens_per_s"]
    for row in rows:
        row["ratio"] = row["tokens_per_s"] / baseline
    return rows


def step_rows(cfg: DictConfig, steps: int) -> list[dict]:
    runner = scratch_runner(cfg)
    parts = {k: [] for k in STEP_PARTS}
    for step in range(steps):
        metrics = runner.step(step)
        for k in STEP_PARTS:
            parts[k].append(metrics.get(k, 0.0))
    med = {k: statistics.median(v) for k, v in parts.items()}
    split = {
        "generate": med["time/generate"],
        "score": med["time/score"],
        "forward+backward": med["time/update"] - med["time/optimizer"],
        "optimizer": med["time/optimizer"],
    }
    total = sum(split.values())
    return [{"section": "step", "name": k, "seconds": v, "ratio": v / total} for k, v in split.items()]


def peak_mib(device: torch.device) -> float:
    """This process's peak so far: CUDA allocation on a GPU, resident memory on the CPU (never comes down)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_rows(device: torch.device, peaks: list[tuple[str, float]]) -> list[dict]:
    """The process's peak, then the peak after each in-process section it ran (the first to reach the peak holds it)."""
    name = "peak CUDA allocated" if device.type == "cuda" else "peak process RSS"
    return [{"section": "memory", "name": name, "mib": peaks[-1][1]}] + [
        {"section": "memory", "name": f"  after {section}", "mib": mib} for section, mib in peaks
    ]


def time_to_target(cfg: DictConfig, target: float, max_steps: int, eval_every: int) -> dict:
    """Train until mid-training pass@1 reaches `target`; wall time excludes evaluation."""
    runner = scratch_runner(cfg)
    train_seconds, reached, evaluation = 0.0, None, None
    for step in range(max_steps):
        start = time.perf_counter()
        runner.step(step)
        train_seconds += time.perf_counter() - start
        if (step + 1) % eval_every == 0:
            evaluation = runner.session.evaluate().metrics
            if evaluation["pass@1"] >= target:
                reached = step + 1
                break
    return target_row(reached, train_seconds, evaluation)


def target_row(reached: int | None, train_seconds: float, evaluation: dict) -> dict:
    """A time-to-target result: the step and seconds at the target (None when missed) and the last pass@1."""
    return {
        "steps": reached, "seconds": train_seconds if reached else None, "trained_seconds": train_seconds,
        "pass@1": evaluation["pass@1"], "pass@1_stderr": evaluation["pass@1_stderr"],
    }


def medians(runs: list[dict]) -> dict:
    """Time-to-target runs (one per seed) summarised by medians; a missed target counts as slower
    than any reached one, so a median is None when half or more missed. The runs stay in `runs`."""

    def median(key: str) -> float | None:
        middle = statistics.median(math.inf if r[key] is None else r[key] for r in runs)
        return None if math.isinf(middle) else middle

    summary = {key: median(key) for key in ("steps", "seconds", "trained_seconds", "pass@1", "pass@1_stderr")}
    return {**summary, "runs": runs}


def dash_rows(base: list[str], target: float, max_steps: int, eval_every: int, seeds: int, slice_size: int) -> list[dict]:
    """Plain GRPO against GRPO + DASH, both updating in `slice_size`-sequence micro-batches (the row names say so):
    preemptive sampling changes nothing unless the slice is smaller than the step's sequences."""
    variants = {
        f"grpo, {slice_size}-seq slices": ["rollout.preemptive=false", "train.grad_filter_tau=null"],
        f"grpo + DASH, {slice_size}-seq": ["rollout.preemptive=true", "train.grad_filter_tau=0.1"],
    }
    rows = []
    for name, extra in variants.items():
        result = medians([time_to_target(compose_config([*base, *extra, f"seed={seed}"]), target, max_steps, eval_every) for seed in range(seeds)])
        rows.append({"section": "dash", "name": name, "target_pass@1": target, **result})
    baseline = rows[0]["seconds"]
    for row in rows:
        row["ratio"] = row["seconds"] / baseline if row["seconds"] and baseline else None
    return rows


def trl_rows(base: list[str], target: float, max_steps: int, eval_every: int, seeds: int) -> list[dict]:
    """Per seed: ours first, then TRL with twice our time as its budget (the whole `max_steps` if we missed)."""
    from bench.perf_trl import trl_time_to_target

    ours_runs, trl_runs = [], []
    for seed in range(seeds):
        cfg = compose_config([*base, f"seed={seed}"])
        ours_runs.append(time_to_target(cfg, target, max_steps, eval_every))
        budget = 2 * ours_runs[-1]["seconds"] if ours_runs[-1]["seconds"] else None
        trl_runs.append(trl_time_to_target(cfg, target, max_steps, eval_every, max_seconds=budget))
    return trl_summary(ours_runs, trl_runs, target)


def trl_summary(ours_runs: list[dict], trl_runs: list[dict], target: float) -> list[dict]:
    """The two rows of the trl section; the ratio is the median over seeds of ours / TRL's time.

    A seed where TRL missed the target within its budget gives only an upper bound
    (ours / TRL's trained time); the median of those bounds bounds the median ratio.
    """
    ratios, bounded = [], []
    for ours, theirs in zip(ours_runs, trl_runs):
        if ours["seconds"]:
            reached = theirs["seconds"] is not None
            ratios.append(ours["seconds"] / (theirs["seconds"] if reached else theirs["trained_seconds"]))
            bounded.append(not reached)
    ratio = statistics.median(ratios) if len(ratios) == len(ours_runs) else None
    theirs = medians(trl_runs)
    return [
        {"section": "trl", "name": "TRL GRPOTrainer", "target_pass@1": target, **theirs, "ratio": 1.0},
        {"section": "trl", "name": "grpo (ours)", "target_pass@1": target, **medians(ours_runs),
         "ratio": ratio, "ratio_is_upper_bound": ratio is not None and any(bounded), "seed_ratios": ratios},
    ]


def resummarise(rows: list[dict]) -> list[dict]:
    """Saved rows with the trl summary recomputed from its per-seed runs, in the saved order."""
    trl = {row["name"]: row for row in rows if row["section"] == "trl"}
    out = []
    for row in rows:
        if row["section"] != "trl":
            out.append(row)
        elif row["name"] == "grpo (ours)":
            out += trl_summary(row["runs"], trl["TRL GRPOTrainer"]["runs"], row["target_pass@1"])
    return out


def format_table(rows: list[dict]) -> str:
    lines = [f"{'section':8} {'name':30} {'value (time to target: median over seeds)':>52} {'ratio':>8}"]
    for row in rows:
        if row["section"] == "rollout":
            value = f"{row['tokens_per_s']:.0f} tok/s ({row['sequences']} seqs)"
        elif row["section"] in ("step", "job", "scaling"):
            value = f"{row['seconds']:.3f} s" + ("/step" if row["section"] == "scaling" else "")
        elif row["section"] == "flops":
            value = f"{row['flops_per_s'] / 1e9:.1f} GFLOP/s"
        elif row["section"] == "memory":
            value = f"{row['mib']:.0f} MiB" + (f" ({row['shape']})" if "shape" in row else "")
        else:
            per_seed = "/".join("-" if r["steps"] is None else str(r["steps"]) for r in row["runs"])
            reached = f"{row['steps']:g} steps, {row['seconds']:.0f} s" if row["steps"] else f"not in {row['trained_seconds']:.0f} s"
            value = f"{reached} (steps {per_seed}), pass@1 {row['pass@1']:.3f}±{row['pass@1_stderr']:.3f}"
        ratio = "" if row.get("ratio") is None else ("<" if row.get("ratio_is_upper_bound") else "") + f"{row['ratio']:.2f}x"
        lines.append(f"{row['section']:8} {row['name']:30} {value:>52} {ratio:>8}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="rollout,step,flops,job,memory,dash", help="comma-separated subset of rollout,step,flops,job,memory,dash,scaling,trl")
    parser.add_argument("--sequences", type=int, default=512, help="sequences per rollout call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.38, help="pass@1 target of the dash and trl sections (the base: 0.34)")
    parser.add_argument("--seeds", type=int, default=3, help="time-to-target runs per variant (seeds 0, 1, ...), summarised by medians")
    parser.add_argument("--max-steps", type=int, default=150)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--dash-micro-batch", type=int, default=8, help="sequences per forward/backward slice in the dash section (TRL's default per-device batch)")
    parser.add_argument("--out", type=Path, default=Path("results/perf"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied to every section")
    parser.add_argument("--summarise", type=Path, metavar="FILE", help="print the table of a saved results/perf JSON and exit")
    args = parser.parse_args()
    if args.summarise:
        print(format_table(resummarise(json.loads(args.summarise.read_text())["rows"])))
        return
    sections = set(args.sections.split(","))
    base = list(args.overrides)
    cfg = compose_config(base)
    device = build.resolve_device(cfg.device)
    dash_base = [*base, f"train.micro_batch_size={args.dash_micro_batch}", "eval.n=16"]
    measured = {  # in this order; job, scaling and the memory section's update variants run in subprocesses
        "rollout": lambda: rollout_rows(cfg, args.sequences, cfg.rollout.n, args.repeats),
        "step": lambda: step_rows(cfg, max(args.repeats, 3)),
        "flops": lambda: flops_rows(cfg, max(args.repeats, 3)),
        "job": lambda: job_rows(base),
        "scaling": lambda: scaling_rows(base, device, max(args.repeats, 3) + 1),
        "dash": lambda: dash_rows(dash_base, args.target, args.max_steps, args.eval_every, args.seeds, args.dash_micro_batch),
        "trl": lambda: trl_rows([*base, "eval.n=16"], args.target, args.max_steps, args.eval_every, args.seeds),
    }
    rows: list[dict] = []
    peaks = [("imports and config", peak_mib(device))]  # the process's peak after each section: which one raised it
    for name, run in measured.items():
        if name in sections:
            rows += run()
            peaks.append((name, peak_mib(device)))
    if "memory" in sections:
        rows += memory_rows(device, peaks)
        rows += update_memory_rows(device)
    print(format_table(rows))
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    atomic_write_json(args.out / f"perf-{device.type}-{stamp}.json", {"rows": rows, "overrides": base, **provenance(device)})


if __name__ == "__main__":
    main()
