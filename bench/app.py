"""`python -m bench`: build -> evaluate base -> train -> evaluate -> write results.

Outputs in the Hydra run dir: config.yaml, metrics.jsonl, samples.jsonl,
eval.json (written last and atomically: its presence marks a complete run),
passk.png/.pdf and checkpoints/.
"""

from __future__ import annotations

import logging
import random
import sys
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from algorithms.context import TrainContext
from algorithms.registry import ALGORITHMS
from bench import build
from bench.config import register_configs
from bench.evaluate import evaluate
from bench.io import atomic_write_json, atomic_write_jsonl, atomic_write_text
from bench.models import load_policy
from bench.plots import passk_figure
from bench.provenance import provenance
from bench.rollout import build_engine
from bench.runner import Runner
from bench.sampler import PromptSampler
from bench.tables import passk_table
from bench.tracking import MetricsLog

log = logging.getLogger("bench")
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
register_configs()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run(cfg: DictConfig, out_dir: Path, label: str) -> dict:
    """`label` names the algorithm as chosen (a preset like dr_grpo, not its class grpo)."""
    build.check_config(cfg)
    device = build.resolve_device(cfg.device)
    seed_everything(cfg.seed)
    task = build.build_task(cfg)
    train_examples = task.load("train")
    if ALGORITHMS.get(cfg.algorithm.name).needs_demos and not any(e.demo for e in train_examples):
        raise build.ConfigError(f"algorithm {cfg.algorithm.name!r} needs demonstrations; dataset {cfg.dataset.name!r} has none")
    problems = task.load("test")[: cfg.eval.problems]
    model, tokenizer = load_policy(cfg.model, device)
    model.train()
    engine = build_engine(cfg.rollout.engine, model, tokenizer, device, cfg.rollout.batch_size)
    ks, sampling = build.eval_ks(cfg), build.eval_sampling(cfg)
    eval_seed = cfg.seed + 7_919

    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    base = evaluate(engine, task, tokenizer, problems, cfg.eval.n, ks, sampling, eval_seed) if cfg.eval.base else None

    ctx = TrainContext(model, tokenizer, task, build.train_settings(cfg), device)
    algorithm = build.build_algorithm(cfg, ctx)
    config_dict = OmegaConf.to_container(cfg, resolve=True)
    metrics_log = MetricsLog(out_dir / "metrics.jsonl", cfg.logger, out_dir.name, cfg.experiment, config_dict)
    runner = Runner(
        algorithm=algorithm, engine=engine, sampler=PromptSampler(train_examples, cfg.seed), task=task, model=model,
        tokenizer=tokenizer, metrics=metrics_log, checkpoints=out_dir / "checkpoints",
        prompts_per_step=cfg.rollout.prompts_per_step, n=cfg.rollout.n, sampling=build.rollout_sampling(cfg),
        steps=cfg.train.steps, seed=cfg.seed, save_every=cfg.train.save_every,
    )
    try:
        runner.train()
        trained = evaluate(engine, task, tokenizer, problems, cfg.eval.n, ks, sampling, eval_seed)
        metrics_log.summary({f"eval/{task.name}/{k}": v for k, v in trained.metrics.items()})
    finally:
        metrics_log.close()

    atomic_write_jsonl(out_dir / "samples.jsonl", trained.samples)
    curves = {label: trained.metrics} if base is None else {"base": base.metrics, label: trained.metrics}
    passk_figure(curves, ks, f"{label} on {task.name}", out_dir / "passk")
    report = {
        "algorithm": label,
        "dataset": task.name,
        "seed": cfg.seed,
        "results": {task.name: trained.metrics},
        "base_results": {task.name: base.metrics} if base else None,
        "higher_is_better": {task.name: {k: True for k in trained.metrics if not k.endswith("_stderr")}},
        "task": {"name": task.name, "version": task.version, "skipped": getattr(task, "skipped", [])},
        "sampling": {"temperature": sampling.temperature, "top_p": sampling.top_p, "max_new_tokens": sampling.max_new_tokens, "seed": eval_seed},
        "n": cfg.eval.n,
        "k": ks,
        "n-problems": len(problems),
        "config": config_dict,
        **provenance(device),
    }
    atomic_write_json(out_dir / "eval.json", report)
    print(f"\n{label} on {task.name}: {len(problems)} problems x {cfg.eval.n} samples")
    print(passk_table({"base": base.metrics, "trained": trained.metrics} if base else {"trained": trained.metrics}, ks, ("pass",)))
    print(f"\nresults: {out_dir}")
    return report


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    runtime = HydraConfig.get().runtime
    try:
        run(cfg, Path(runtime.output_dir), runtime.choices.get("algorithm", cfg.algorithm.name))
    except (build.ConfigError, FloatingPointError, FileNotFoundError) as error:
        log.error("%s", error)
        sys.exit(1)
