"""The shared training loop: sample prompts, roll out, score, update, log, save, resume."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from algorithms import sharding
from algorithms.base import Algorithm
from algorithms.context import TrainContext
from bench import build
from bench.checkpoint import latest_checkpoint, load_trainer_state, load_weights, restore_rng, save_checkpoint, step_of
from bench.rollout import Sampling
from bench.generation_rounds import GroupGenerator, group_sampling
from bench.progress import progress_bar
from bench.sampler import PromptSampler
from bench.session import Session, open_session
from bench.tracking import MetricsLog

log = logging.getLogger(__name__)


@dataclass
class Runner:
    algorithm: Algorithm
    session: Session
    sampler: PromptSampler
    metrics: MetricsLog | None  # None on every process but rank 0, which alone writes run files
    checkpoints: Path
    sampling: Sampling  # rollout sampling
    after_step: Callable[[], None] = lambda: None  # e.g. saving the attempt's wall time

    def train(self, start_step: int = 0) -> None:
        """Run steps `start_step + 1 .. train.steps`; a non-finite loss or weight stops the run, checkpoints intact."""
        train = self.session.cfg.train
        bar = progress_bar(range(start_step, train.steps), initial=start_step, total=train.steps, desc="train")
        for step in bar:
            try:
                metrics = self.step(step)
                self.check_finite()
            except FloatingPointError as error:
                last = latest_checkpoint(self.checkpoints)
                raise FloatingPointError(
                    f"training diverged at step {step + 1}: {error}; last good checkpoint: {last or 'none'}"
                ) from error
            if train.eval_every and (step + 1) % train.eval_every == 0 and step + 1 < train.steps:
                metrics.update(self.evaluate())
            if self.metrics is not None:
                self.metrics.log(step + 1, metrics)
            bar.set_postfix(
                reward=f"{metrics.get('rollout/reward_mean', float('nan')):.3f}",
                tok_s=f"{metrics.get('rollout/tokens_per_s', 0):.0f}",
            )
            if train.save_every and (step + 1) % train.save_every == 0 and step + 1 < train.steps:
                self.save(step + 1)
            self.after_step()
        self.save(train.steps)

    def step(self, step: int) -> dict[str, float]:
        """Roll out and update with the policy whole on every process (gathered, when it is sharded)."""
        session = self.session
        start = time.perf_counter()
        with sharding.gathered(session.model):
            if self.algorithm.needs_rollouts:
                generator = GroupGenerator(session, self.sampler, self.sampling, group_sampling(session.cfg))
                examples, rollouts, metrics = generator.generate(step)
            else:
                examples, rollouts, metrics = self.sampler.next(session.cfg.rollout.prompts_per_step), None, {}
            update_start = time.perf_counter()
            metrics.update(self.algorithm.update(examples, rollouts))
        session.engine.sync_weights(session.model)
        metrics["time/update"] = time.perf_counter() - update_start
        metrics["time/step"] = time.perf_counter() - start
        return metrics

    def check_finite(self) -> None:
        """A finite loss can still push weights to inf/NaN (a huge or NaN lr); stop (every process,
        whichever shard it is in) before they are saved."""
        params = [sharding.local(p.detach()) for p in self.session.model.parameters()]
        finite = bool(torch.stack([p.isfinite().all() for p in params]).all())
        if self.session.parallel.any(not finite):
            raise FloatingPointError("non-finite policy weights after the update")

    def evaluate(self) -> dict[str, float]:
        """Mid-training pass@k on the held-out problems (for steps- and time-to-target)."""
        start = time.perf_counter()
        result = self.session.evaluate()
        metrics = {f"eval/{self.session.task.name}/{k}": v for k, v in result.metrics.items()}
        metrics["time/eval"] = time.perf_counter() - start
        return metrics

    def save(self, step: int) -> Path | None:
        """Rank 0 saves whole weights and states (replicas, or shards every process helps gather); the others wait for it."""
        path, parallel, model = None, self.session.parallel, self.session.model
        state = sharding.full_state({"algorithm": self.algorithm.state_dict(), "sampler": self.sampler.state_dict()}, parallel.is_main)
        weights = sharding.full_weights(model, parallel.is_main) if sharding.is_sharded(model) else None
        if parallel.is_main:
            keep = self.session.cfg.train.keep_checkpoints
            path = save_checkpoint(self.checkpoints, step, model, self.session.tokenizer, state, keep, weights)
        parallel.barrier()
        return path

    def restore(self, checkpoint: Path) -> int:
        """Load weights, algorithm and sampler state, then the RNG streams; returns the step to continue after."""
        state = load_trainer_state(checkpoint)
        load_weights(self.session.model, checkpoint)
        self.algorithm.load_state_dict(state["algorithm"])
        self.sampler.load_state_dict(state["sampler"])
        self.session.engine.sync_weights(self.session.model)
        restore_rng(state["rng"])
        log.info("resumed from %s", checkpoint)
        return step_of(checkpoint)


def scratch_runner(cfg: DictConfig) -> Runner:
    """A runner that logs nothing and checkpoints into a temporary dir: for benchmarks and tests."""
    session = open_session(cfg)
    ctx = TrainContext(session.model, session.tokenizer, session.task, build.train_settings(cfg), session.device, session.parallel)
    return Runner(
        algorithm=build.build_algorithm(cfg, ctx), session=session, sampler=PromptSampler(session.task.load("train"), cfg.seed),
        metrics=None, checkpoints=Path(tempfile.mkdtemp()), sampling=build.rollout_sampling(cfg),
    )
