"""Pre-train the tiny base: SFT on a mixture of synthetic demonstrations.

Deliberately short: the base should solve the easy splits sometimes (pass@1 well
below pass@k), leaving RL room to improve and a gap between algorithms to see.
"""

from __future__ import annotations

import logging
import math
import random

import torch

from algorithms.batch import tokenize_demos
from algorithms.sft import nll_backward
from bench.config import ModelConfig
from bench.models import new_tiny_model
from evaluators.tasks import get_task

log = logging.getLogger(__name__)


def pretrain_base(cfg: ModelConfig):
    model, tokenizer = new_tiny_model(cfg, cfg.base.seed)
    if len(cfg.base.weights) != len(cfg.base.tasks):
        raise ValueError("model.base.weights needs one weight per entry of model.base.tasks")
    tasks = [get_task(name) for name in cfg.base.tasks]
    pools = [task.load("train") for task in tasks]
    rng = random.Random(cfg.base.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.base.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / cfg.base.steps))
    )
    model.train()
    for step in range(cfg.base.steps):
        # One task per batch: rows of one task have similar lengths, so little padding.
        (i,) = rng.choices(range(len(tasks)), weights=cfg.base.weights)
        drawn = rng.sample(pools[i], cfg.base.batch_size)
        prompts = [tasks[i].format_prompt(example, tokenizer) for example in drawn]
        demos = [tasks[i].format_demo(example) for example in drawn]
        batch = tokenize_demos(tokenizer, prompts, demos, "cpu")
        loss = nll_backward(model, batch, micro_batch_size=cfg.base.batch_size)["loss/sft"]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 100 == 0 or step == cfg.base.steps - 1:
            log.info("base pre-training step %d/%d: loss %.3f", step + 1, cfg.base.steps, loss)
    return model.eval(), tokenizer
