"""The shared training loop: sample prompts, roll out, score, update, log, save."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from algorithms.base import Algorithm
from bench.checkpoint import save_checkpoint
from bench.rollout import Engine, Sampling
from bench.sampler import PromptSampler
from bench.scoring import score_generation
from bench.tracking import MetricsLog

log = logging.getLogger(__name__)


@dataclass
class Runner:
    algorithm: Algorithm
    engine: Engine
    sampler: PromptSampler
    task: object
    model: object
    tokenizer: object
    metrics: MetricsLog
    checkpoints: Path
    prompts_per_step: int
    n: int
    sampling: Sampling
    steps: int
    seed: int
    save_every: int = 0

    def train(self, start_step: int = 0) -> None:
        bar = tqdm(range(start_step, self.steps), initial=start_step, total=self.steps, desc="train", dynamic_ncols=True)
        for step in bar:
            metrics = self.step(step)
            self.metrics.log(step + 1, metrics)
            bar.set_postfix(
                reward=f"{metrics.get('rollout/reward_mean', float('nan')):.3f}",
                tok_s=f"{metrics.get('rollout/tokens_per_s', 0):.0f}",
            )
            if self.save_every and (step + 1) % self.save_every == 0 and step + 1 < self.steps:
                self.save(step + 1)
        self.save(self.steps)

    def step(self, step: int) -> dict[str, float]:
        start = time.perf_counter()
        examples = self.sampler.next(self.prompts_per_step)
        metrics: dict[str, float] = {}
        rollouts = None
        if self.algorithm.needs_rollouts:
            prompts = [self.task.format_prompt(e, self.tokenizer) for e in examples]
            generation = self.engine.generate(prompts, self.n, self.sampling, seed=self.seed * 1_000_003 + step)
            generated = time.perf_counter()
            rollouts = score_generation(self.task, generation, examples, self.n)
            scored = time.perf_counter()
            metrics.update(
                {
                    "rollout/reward_mean": float(rollouts.rewards.mean()),
                    "rollout/correct_mean": float(rollouts.correct.float().mean()),
                    "rollout/response_len": float(rollouts.mask.sum(-1).mean()),
                    "rollout/tokens_per_s": generation.num_tokens / max(generated - start, 1e-9),
                    "time/generate": generated - start,
                    "time/score": scored - generated,
                }
            )
        update_start = time.perf_counter()
        metrics.update(self.algorithm.update(examples, rollouts))
        self.engine.sync_weights(self.model)
        metrics["time/update"] = time.perf_counter() - update_start
        metrics["time/step"] = time.perf_counter() - start
        return metrics

    def save(self, step: int) -> Path:
        state = {"algorithm": self.algorithm.state_dict(), "sampler": self.sampler.state_dict()}
        return save_checkpoint(self.checkpoints, step, self.model, self.tokenizer, state)
