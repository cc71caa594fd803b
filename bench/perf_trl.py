"""TRL's `GRPOTrainer` on our base model, task, batch and optimiser settings: the
`trl` row of `python -m bench.perf` (optional extra: `pip install -e ".[perf]"`).

Same as our GRPO run: the cached tiny base, prompts, group size n, max new
tokens, temperature, lr (constant, AdamW), grad clip, clip range, KL coefficient
(k3 to the initial policy, as TRL's `beta`), token-mean loss (TRL's `dapo`),
group-std advantages, and the same held-out pass@1 evaluation with our evaluator.
TRL generates with plain `model.generate`, the one thing we do not align.
"""

from __future__ import annotations

import tempfile
import time

from datasets import Dataset
from omegaconf import DictConfig
from transformers import TrainerCallback

from bench.perf import target_row
from bench.session import open_session


def trl_time_to_target(cfg: DictConfig, target: float, max_steps: int, eval_every: int, max_seconds: float | None) -> dict:
    """Train with `GRPOTrainer` until pass@1 reaches `target` or training has taken `max_seconds`;
    wall time excludes evaluation."""
    try:
        from trl import GRPOConfig, GRPOTrainer
    except ImportError as error:
        raise SystemExit('the trl section needs TRL: pip install -e ".[perf]"') from error

    session = open_session(cfg)
    task, tokenizer = session.task, session.tokenizer
    rows = [{"prompt": task.format_prompt(e, tokenizer), "gold": e.answer} for e in task.load("train")]

    def reward(completions: list[str], gold: list[str], **_) -> list[float]:
        return [task.score(text, answer).reward for text, answer in zip(completions, gold)]

    sequences = cfg.rollout.prompts_per_step * cfg.rollout.n
    micro = min(cfg.train.micro_batch_size, sequences)
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(), use_cpu=session.device.type == "cpu", seed=cfg.seed, max_steps=max_steps,
        per_device_train_batch_size=micro, gradient_accumulation_steps=sequences // micro, num_generations=cfg.rollout.n,
        max_completion_length=cfg.rollout.max_new_tokens, temperature=cfg.rollout.temperature, top_p=cfg.rollout.top_p,
        learning_rate=cfg.train.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=cfg.train.weight_decay,
        max_grad_norm=cfg.train.grad_clip, beta=cfg.algorithm.kl_coef, epsilon=cfg.algorithm.eps_low,
        epsilon_high=cfg.algorithm.eps_high, loss_type="dapo", scale_rewards="group",
        logging_steps=1, report_to="none", save_strategy="no", remove_unused_columns=False, disable_dropout=True,
    )
    clock = TimeToTarget(session, target, eval_every, max_seconds)
    trainer = GRPOTrainer(
        model=session.model, reward_funcs=reward, args=args, train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer, callbacks=[clock],
    )
    trainer.train()
    return clock.result()


class TimeToTarget(TrainerCallback):
    """Times each optimizer step and evaluates every `eval_every` steps, stopping at the target or the time budget."""

    def __init__(self, session, target: float, eval_every: int, max_seconds: float | None) -> None:
        self.session, self.target, self.eval_every, self.max_seconds = session, target, eval_every, max_seconds
        self.train_seconds, self.started, self.reached, self.evaluation = 0.0, 0.0, None, None

    def on_step_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.train_seconds += time.perf_counter() - self.started
        if state.global_step % self.eval_every == 0:
            self.evaluation = self.session.evaluate().metrics
            if self.evaluation["pass@1"] >= self.target:
                self.reached = state.global_step
        over_budget = self.max_seconds is not None and self.train_seconds > self.max_seconds
        if self.reached is not None or over_budget:
            control.should_training_stop = True

    def result(self) -> dict:
        return target_row(self.reached, self.train_seconds, self.evaluation)
