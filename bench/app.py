"""`python -m bench`: build -> evaluate base -> train -> evaluate -> write results.

Outputs in the Hydra run dir: config.yaml, metrics.jsonl, samples.jsonl,
eval.json (written last and atomically: its presence marks a complete run),
passk.png/.pdf and checkpoints/.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from algorithms.context import TrainContext
from algorithms.registry import ALGORITHMS
from bench import build
from bench.config import register_configs
from bench.io import atomic_write_text
from bench.results import print_summary, write_results
from bench.runner import Runner
from bench.sampler import PromptSampler
from bench.session import open_session
from bench.tracking import MetricsLog

log = logging.getLogger("bench")
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
register_configs()


def run(cfg: DictConfig, out_dir: Path, label: str) -> dict:
    """Train and evaluate one configuration. `label` names the algorithm as chosen (a preset like dr_grpo)."""
    task = build.build_task(cfg)
    train_examples = task.load("train")
    if ALGORITHMS.get(cfg.algorithm.name).needs_demos and not any(e.demo for e in train_examples):
        raise build.ConfigError(f"algorithm {cfg.algorithm.name!r} needs demonstrations; dataset {cfg.dataset.name!r} has none")
    session = open_session(cfg, task)
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    base = session.evaluate() if cfg.eval.base else None

    ctx = TrainContext(session.model, session.tokenizer, task, build.train_settings(cfg), session.device)
    metrics_log = MetricsLog(out_dir / "metrics.jsonl", cfg.logger, out_dir.name, cfg.experiment, OmegaConf.to_container(cfg, resolve=True))
    runner = Runner(
        algorithm=build.build_algorithm(cfg, ctx), session=session, sampler=PromptSampler(train_examples, cfg.seed),
        metrics=metrics_log, checkpoints=out_dir / "checkpoints", sampling=build.rollout_sampling(cfg),
    )
    try:
        runner.train()
        trained = session.evaluate()
        metrics_log.summary({f"eval/{task.name}/{k}": v for k, v in trained.metrics.items()})
    finally:
        metrics_log.close()
    report = write_results(out_dir, cfg, label, task, len(session.problems), session.ks, session.sampling, session.eval_seed, trained, base, session.device)
    print_summary(label, task.name, len(session.problems), cfg.eval.n, session.ks, trained, base, out_dir)
    return report


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    runtime = HydraConfig.get().runtime
    try:
        run(cfg, Path(runtime.output_dir), runtime.choices.get("algorithm", cfg.algorithm.name))
    except (build.ConfigError, FloatingPointError, FileNotFoundError) as error:
        log.error("%s", error)
        sys.exit(1)
