"""Build the run's parts from the composed config, checking it before any work."""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from algorithms.base import Algorithm
from algorithms.context import TrainContext, TrainSettings
from algorithms.registry import ALGORITHMS
from bench import distributed
from bench.config import Sharding
from bench.lora import lora_config_error
from bench.plugins import import_plugins, load_function
from bench.preflight import ConfigError, unknown_keys
from bench.rollout import Sampling
from evaluators.passk import default_ks
from evaluators.tasks import get_task
from evaluators.tasks.selection import ALL, check_count
from evaluators.tasks.presets import REAL_TASKS, preset_for


def resolve_device(device) -> torch.device:
    """`auto|cpu|cuda` (a `Device` enum or its string) -> a torch device."""
    name = getattr(device, "value", device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but CUDA is not available; use device=cpu or device=auto")
    return torch.device(name)


def mini_batch_prompts(cfg: DictConfig) -> int:
    return cfg.train.mini_batch_prompts or cfg.rollout.prompts_per_step


def eval_ks(cfg: DictConfig) -> list[int]:
    return list(cfg.eval.k) if cfg.eval.k else default_ks(cfg.eval.n)


def check_config(cfg: DictConfig) -> None:
    """The cross-field rules a schema cannot express, with the keys named; no undeclared key.
    Under torchrun, also the rules of the run's process count."""
    unknown = unknown_keys(cfg)
    if unknown:
        raise ConfigError(unknown)
    if cfg.train.steps < 0:
        raise ConfigError(f"train.steps must be >= 0, got {cfg.train.steps}")
    if cfg.rollout.prompts_per_step < 1 or cfg.rollout.n < 1:
        raise ConfigError("rollout.prompts_per_step and rollout.n must be >= 1")
    if cfg.rollout.prompts_per_step % mini_batch_prompts(cfg):
        raise ConfigError(
            f"rollout.prompts_per_step ({cfg.rollout.prompts_per_step}) must be divisible by "
            f"train.mini_batch_prompts ({mini_batch_prompts(cfg)})"
        )
    world = distributed.current().world
    if mini_batch_prompts(cfg) < world:
        raise ConfigError(
            f"train.mini_batch_prompts ({mini_batch_prompts(cfg)}) must be at least the number of processes ({world}): "
            "each process trains whole prompt groups of every mini-batch"
        )
    check_sharding(cfg, world)
    if world > 1 and cfg.rollout.engine == "vllm":
        raise ConfigError("rollout=vllm is not supported under torchrun yet (one engine per rank is not built); use rollout=hf")
    if cfg.model.dtype == "float16":
        raise ConfigError("model.dtype=float16 is not supported: training would need loss scaling; use bfloat16 (same memory, fp32 range) or float32")
    if cfg.train.micro_batch_size < 1:
        raise ConfigError("train.micro_batch_size must be >= 1")
    bad_ks = [k for k in eval_ks(cfg) if not 1 <= k <= cfg.eval.n]
    if bad_ks:
        raise ConfigError(f"eval.k values {bad_ks} need 1 <= k <= eval.n ({cfg.eval.n})")
    if OmegaConf.select(cfg, "algorithm.max_generation_rounds", default=1) < 1:
        raise ConfigError("algorithm.max_generation_rounds must be >= 1")
    buffer = OmegaConf.select(cfg, "algorithm.overlong_buffer", default=0)
    if not 0 <= buffer < cfg.rollout.max_new_tokens:
        raise ConfigError(f"algorithm.overlong_buffer ({buffer}) must be in [0, rollout.max_new_tokens = {cfg.rollout.max_new_tokens})")
    if cfg.rollout.sleep_level not in (1, 2):
        raise ConfigError(f"rollout.sleep_level must be 1 (weights to CPU) or 2 (weights dropped), got {cfg.rollout.sleep_level}")
    max_len = cfg.rollout.max_model_len
    if max_len is not None and max_len <= cfg.rollout.max_new_tokens:
        raise ConfigError(f"rollout.max_model_len ({max_len}) must exceed rollout.max_new_tokens ({cfg.rollout.max_new_tokens}): it holds the prompt too")
    lora_error = lora_config_error(cfg.model.lora)
    if lora_error:
        raise ConfigError(lora_error)
    problems_error = check_count(cfg.eval.problems)
    if problems_error:
        raise ConfigError(f"eval.problems {problems_error}")
    check_prompt(cfg)
    check_reward(cfg)


def check_sharding(cfg: DictConfig, world: int) -> None:
    """What `sharding=fsdp` (algorithms/sharding.py) covers today."""
    if cfg.sharding != Sharding.fsdp:
        return
    if world == 1:
        raise ConfigError("sharding=fsdp shards the policy over the processes of torchrun; one process has nothing to shard (use sharding=none)")
    if cfg.model.lora.r > 0:
        raise ConfigError("sharding=fsdp with LoRA (model.lora.r > 0) is not built; LoRA's few trained weights need no sharding: use sharding=none")


def check_reward(cfg: DictConfig) -> None:
    """dataset=jsonl needs a path and a reward function; no other task reads `dataset.reward`."""
    if cfg.dataset.name == "jsonl":
        missing = [key for key in ("path", "reward") if cfg.dataset[key] is None]
        if missing:
            raise ConfigError(f"dataset=jsonl needs {' and '.join(f'dataset.{key}' for key in missing)} (README: Your own task, reward or algorithm)")
        import_plugins(cfg.plugins)
        load_function(cfg.dataset.reward, "dataset.reward")  # fails now, naming the key, not at the first scored rollout
    elif cfg.dataset.reward is not None:
        raise ConfigError(f"dataset.reward is read only by dataset=jsonl; dataset {cfg.dataset.name!r} scores with its own grader")


def check_prompt(cfg: DictConfig) -> None:
    """The prompt preset must fit the dataset (minerva_math is a MATH prompt, not a GSM8K one)."""
    try:
        preset_for(cfg.dataset.name, cfg.dataset.prompt)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def build_task(cfg: DictConfig):
    import_plugins(cfg.plugins)  # a plugin's task registers itself on import (in every job process)
    check_prompt(cfg)  # training builds the task before the rest of check_config runs
    options = dict(cfg.dataset.options)
    if cfg.dataset.path is not None:
        options["path"] = cfg.dataset.path
    if cfg.dataset.reward is not None:
        options["reward"] = load_function(cfg.dataset.reward, "dataset.reward")
    if cfg.dataset.name.endswith("_synth"):
        options["difficulty"] = cfg.dataset.difficulty
        options.setdefault("test_size", max(cfg.eval.problems, 500) if cfg.eval.problems != ALL else 500)
    elif cfg.dataset.name in REAL_TASKS:
        options["prompt"] = cfg.dataset.prompt  # the synthetic twins have only the default, which check_prompt enforces
    return get_task(cfg.dataset.name, **options)


def train_settings(cfg: DictConfig) -> TrainSettings:
    return TrainSettings(
        lr=cfg.train.lr,
        weight_decay=cfg.train.weight_decay,
        grad_clip=cfg.train.grad_clip,
        warmup_steps=cfg.train.warmup_steps,
        micro_batch_size=cfg.train.micro_batch_size,
        mini_batch_prompts=mini_batch_prompts(cfg),
        temperature=cfg.rollout.temperature,
        max_new_tokens=cfg.rollout.max_new_tokens,
        steps=cfg.train.steps,
        grad_filter_tau=cfg.train.grad_filter_tau,
    )


def build_algorithm(cfg: DictConfig, ctx: TrainContext) -> Algorithm:
    import_plugins(cfg.plugins)  # a plugin's algorithm registers itself on import
    algorithm_cls = ALGORITHMS.get(cfg.algorithm.name)
    return algorithm_cls(OmegaConf.to_object(cfg.algorithm), ctx)


def stop_strings(cfg: DictConfig) -> tuple[str, ...]:
    """`rollout.stop`, then the prompt preset's stop sequences (a few-shot model's next question is never scored)."""
    preset = preset_for(cfg.dataset.name, cfg.dataset.prompt).stops_for(cfg.dataset.name)
    return tuple(dict.fromkeys([*cfg.rollout.stop, *preset]))


def rollout_sampling(cfg: DictConfig) -> Sampling:
    return Sampling(cfg.rollout.temperature, cfg.rollout.top_p, cfg.rollout.max_new_tokens, stop_strings(cfg))


def eval_sampling(cfg: DictConfig) -> Sampling:
    return Sampling(cfg.eval.temperature, cfg.eval.top_p, cfg.eval.max_new_tokens or cfg.rollout.max_new_tokens, stop_strings(cfg))
