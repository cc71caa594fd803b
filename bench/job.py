"""One job of `python -m bench`: build -> evaluate base -> train -> evaluate -> write results.

Outputs in the Hydra run dir: config.yaml, metrics.jsonl, samples.jsonl,
eval.json (written last and atomically: its presence marks a complete run),
passk.png/.pdf, checkpoints/, base_eval.json (reused on resume; in a sweep, shared by the
jobs that start from the same policy, see `shared_base_eval`) and
status.json (outcome and wall time, read by the sweep summary).

Under torchrun every rank runs this job on its share of each step and evaluation; rank 0 alone
writes the run dir (the weights are replicas, so its checkpoint is every rank's).

Kept apart from bench/app.py, the CLI, because it imports torch and transformers:
the CLI imports it only once Hydra hands it a job, so `--help` and `--cfg` stay fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from algorithms.context import TrainContext
from algorithms.registry import ALGORITHMS
from bench import build, distributed
from bench.checkpoint import latest_checkpoint, step_of
from bench.config import Resume
from bench.evaluate import EvalResult
from bench.io import atomic_write_text
from bench.reproducibility import configure_torch
from bench.results import print_summary, write_results
from bench.rundir import RunDir
from bench.runner import Runner
from bench.sampler import PromptSampler
from bench.session import Session, open_session
from bench.tracking import MetricsLog
from evaluators.tasks.loading import DatasetUnavailableError

log = logging.getLogger("bench")
# Failures of the input or the run, not of the code: reported as one line, no traceback.
EXPECTED_ERRORS = (build.ConfigError, FloatingPointError, OSError, DatasetUnavailableError)


def run_job(cfg: DictConfig) -> None:
    """One job. In a sweep a failed job is recorded and returns, so the launcher runs the rest;
    the sweep's summary then marks it failed and sets the exit status. A job of several processes
    that fails ends the launch instead (`resume=auto` reruns what is missing)."""
    hydra_cfg = HydraConfig.get()
    out_dir, in_sweep = Path(hydra_cfg.runtime.output_dir), hydra_cfg.mode == RunMode.MULTIRUN
    owns_group = distributed.export_submitit_tasks()
    main = distributed.init_process_group().is_main
    attempt = RunDir(out_dir).begin_attempt()
    try:
        label = hydra_cfg.runtime.choices.get("algorithm", cfg.algorithm.name)
        if run(cfg, out_dir, label, attempt.heartbeat if main else lambda: None, attempt.phase) is not None and main:
            attempt.finish("complete")
    except Exception as error:
        attempt.finish("failed", f"{type(error).__name__}: {error}")  # any rank: the one that failed knows why
        expected = isinstance(error, EXPECTED_ERRORS)
        # on several processes no rank may skip to the next job: its peers still wait in this one's collectives
        goes_on = in_sweep and distributed.current().world == 1
        if not (expected or goes_on):
            raise
        log.error("%s", error, exc_info=not expected)
        if not goes_on:
            sys.exit(1)
    finally:
        if owns_group:
            distributed.finish()


def run(
    cfg: DictConfig, out_dir: Path, label: str, after_step: Callable[[], None],
    phase: Callable[[str], AbstractContextManager] = lambda name: nullcontext(),
) -> dict | None:
    """Train and evaluate one configuration. `label` names the algorithm as chosen (a preset like dr_grpo);
    `after_step` runs after every training step (saving the attempt's wall time); `phase(name)` times
    each phase (build, base eval, train, final eval, write).

    With resume=auto a complete run is skipped (returns None) and an interrupted
    one continues from its last checkpoint.
    """
    run_dir, resume = RunDir(out_dir), cfg.resume == Resume.auto
    if resume and run_dir.complete:
        log.info("%s is complete (eval.json exists); skipping it", out_dir)
        return None
    if not resume and run_dir.holds_run():
        raise build.ConfigError(f"{out_dir} already holds a run: pass resume=auto to continue it, or another sweep_id")
    configure_torch(cfg.threads or distributed.cpu_threads_per_rank(), cfg.deterministic)
    with phase("build"):  # the task, the policy (pre-training a missing tiny base), the algorithm
        task = build.build_task(cfg)
        train_examples = task.load("train")
        if ALGORITHMS.get(cfg.algorithm.name).needs_demos and not any(e.demo for e in train_examples):
            raise build.ConfigError(f"algorithm {cfg.algorithm.name!r} needs demonstrations; dataset {cfg.dataset.name!r} has none")
        session = open_session(cfg, task)
        parallel = session.parallel
        if parallel.is_main:
            atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
        ctx = TrainContext(session.model, session.tokenizer, task, build.train_settings(cfg), session.device, parallel)
        algorithm = build.build_algorithm(cfg, ctx)  # before any checkpoint is loaded: the KL reference is the initial policy
    with phase("base eval"):
        base = base_evaluation(cfg, run_dir, session) if cfg.eval.base else None
    checkpoint = parallel.broadcast(latest_checkpoint(out_dir / "checkpoints") if resume else None)
    metrics_log = MetricsLog(
        out_dir / "metrics.jsonl", cfg.logger, out_dir.name, tracking_group(cfg, out_dir),
        OmegaConf.to_container(cfg, resolve=True), start_step=step_of(checkpoint),
    ) if parallel.is_main else None
    runner = Runner(
        algorithm=algorithm, session=session, sampler=PromptSampler(train_examples, cfg.seed),
        metrics=metrics_log, checkpoints=out_dir / "checkpoints", sampling=build.rollout_sampling(cfg), after_step=after_step,
    )
    try:
        with phase("train"):
            runner.train(runner.restore(checkpoint) if checkpoint else 0)
        with phase("final eval"):
            trained = session.evaluate()
        if metrics_log is not None:
            metrics_log.summary({f"eval/{task.name}/{k}": v for k, v in trained.metrics.items()})
    finally:
        if metrics_log is not None:
            metrics_log.close()
    if not parallel.is_main:
        return None
    with phase("write"):
        report = write_results(out_dir, cfg, label, task, len(session.problems), session.split_size, session.ks, session.sampling, session.eval_seed, trained, base, session.device)
    print_summary(label, task.name, len(session.problems), cfg.eval.n, session.ks, trained, base, out_dir)
    return report


def base_evaluation(cfg: DictConfig, run_dir: RunDir, session: Session) -> EvalResult:
    """The starting policy's evaluation: read back where rank 0 finds it stored, else computed by every
    rank (it is sharded) and stored by rank 0."""
    shared = shared_base_eval(cfg, run_dir.path)
    parallel = session.parallel
    stored = parallel.broadcast(run_dir.stored_base_eval(shared) if parallel.is_main else None)
    if stored is not None:
        if parallel.is_main:
            run_dir.store_base_eval(stored, None)
        return stored
    result = session.evaluate()
    if parallel.is_main:
        run_dir.store_base_eval(result, shared)
    return result


def shared_base_eval(cfg: DictConfig, out_dir: Path) -> Path | None:
    """Where a sweep's jobs share their starting policy's evaluation: in the sweep dir, keyed by
    everything that decides it (model, dataset, evaluation, rollout engine, seed, device)."""
    if not (HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN):
        return None
    decides = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "dataset", "eval", "rollout")}
    decides.update(seed=cfg.seed, device=cfg.device, deterministic=cfg.deterministic)
    digest = hashlib.sha256(json.dumps(decides, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return out_dir.parent / ".base_evals" / f"{digest}.json"


def tracking_group(cfg: DictConfig, out_dir: Path) -> str:
    """The tracker's group: the sweep (<experiment>/<sweep id>) for a multirun job, else the experiment."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return f"{cfg.experiment}/{out_dir.parent.name}"
    return cfg.experiment
