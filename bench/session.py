"""What a training run and an evaluation share: seeds, device, task, policy, engine."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import DictConfig

from algorithms import sharding
from algorithms.parallel import Parallel
from bench import build, distributed
from bench.config import Sharding
from bench.evaluate import EvalResult, evaluate
from bench.models import load_policy
from bench.rollout import Engine, Sampling, build_engine
from evaluators.tasks.selection import select_problems
from evaluators.types import Example

EVAL_SEED_OFFSET = 7_919  # evaluation draws never share a stream with training rollouts


@dataclass
class Session:
    cfg: DictConfig
    device: torch.device
    task: object
    problems: list[Example]  # the held-out evaluation problems
    split_size: int  # problems in the whole test split (`problems` are eval.problems of them)
    model: torch.nn.Module
    tokenizer: object
    engine: Engine
    ks: list[int]
    sampling: Sampling  # evaluation sampling
    parallel: Parallel  # the run's processes (bench/distributed.py)

    @property
    def eval_seed(self) -> int:
        return self.cfg.seed + EVAL_SEED_OFFSET

    def evaluate(self, n: int | None = None) -> EvalResult:
        """Score the current policy on the held-out problems with the fixed eval seed."""
        n = n or self.cfg.eval.n
        ks = [k for k in self.ks if k <= n]
        with sharding.gathered(self.model):
            return evaluate(self.engine, self.task, self.tokenizer, self.problems, n, ks, self.sampling, self.eval_seed, self.parallel)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def open_session(cfg: DictConfig, task=None) -> Session:
    """Check the config, seed, then build the task (unless given), policy and engine.

    Under torchrun every rank builds the same policy on its own device (with sharding=fsdp, then
    keeps its shard of it); rank 0 builds a missing tiny base first, so the others read its cache
    instead of racing to write it."""
    parallel = distributed.current()
    build.check_config(cfg)
    device = distributed.rank_device(build.resolve_device(cfg.device))
    seed_everything(cfg.seed)
    task = task or build.build_task(cfg)
    test_split = task.load("test")
    problems = select_problems(test_split, cfg.eval.problems, cfg.eval.problem_seed)
    for builder in (True, False):
        if parallel.is_main == builder:
            model, tokenizer = load_policy(cfg.model, device)
        parallel.barrier()
    seed_everything(cfg.seed)  # building a missing base moved the RNG: what is drawn next (a value head, LoRA) must not depend on it
    model.train()
    if cfg.sharding == Sharding.fsdp:
        sharding.shard(model)
    engine = build_engine(cfg.rollout, model, tokenizer, device)
    return Session(
        cfg, device, task, problems, len(test_split), model, tokenizer, engine, build.eval_ks(cfg), build.eval_sampling(cfg), parallel
    )


