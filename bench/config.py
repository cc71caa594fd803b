"""Structured configs: every knob typed and commented, checked before any work.

Hydra composes `conf/` on top of these dataclasses, so an unknown key or a value
of the wrong type fails at compose time naming the key. Group schemas are stored
under `schema/<group>/<name>` and pulled into `conf/<group>/<name>.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING

from algorithms.configs import (
    GRPOConfig, NSRConfig, PPOConfig, PSRConfig, ReLIFTConfig, SFTConfig, SuperRLConfig, WReinforceConfig,
)


class Device(str, Enum):
    auto = "auto"  # cuda when available, else cpu
    cpu = "cpu"
    cuda = "cuda"


class Sharding(str, Enum):
    none = "none"  # every process holds the whole policy; gradients all-reduced (algorithms/parallel.py)
    fsdp = "fsdp"  # FSDP2: weights, gradients and AdamW state sharded between steps (algorithms/sharding.py)


class Resume(str, Enum):
    never = "never"  # start from scratch; refuse a run dir that already holds a run
    auto = "auto"  # skip a complete run, continue an interrupted one from its last checkpoint


@dataclass
class TrainConfig:
    steps: int = 100  # rollout + update steps
    lr: float = 1e-4  # policy learning rate (AdamW)
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max global grad norm (0 = off)
    warmup_steps: int = 0  # linear lr warmup, in optimizer steps
    mini_batch_prompts: int | None = None  # prompts per optimizer step (null = rollout.prompts_per_step)
    micro_batch_size: int = II("model.micro_batch_size")  # sequences per forward/backward (default: the model's)
    grad_filter_tau: float | None = None  # DASH gradient filtering: drop samples with |A| <= tau before backward (0.1 in DASH; null = off)
    eval_every: int = 0  # steps between mid-training evaluations, logged as eval/<dataset>/* (0 = only at the end)
    save_every: int = 0  # steps between checkpoints (0 = only the final one)
    keep_checkpoints: int = 2  # newest checkpoints kept on disk, older ones deleted (0 = keep all)


@dataclass
class RolloutConfig:
    engine: str = "hf"  # rollout backend: hf | vllm
    prompts_per_step: int = 32  # prompts sampled per training step
    n: int = 8  # completions per prompt (the group size)
    max_new_tokens: int = 48  # completion length cap
    temperature: float = 1.0  # sampling temperature
    top_p: float = 1.0  # nucleus sampling mass
    stop: list[str] = field(default_factory=list)  # stop strings (training and evaluation); stop tokens come from the tokenizer, generation_config and chat template
    batch_size: int = 4096  # sequences per generate call
    kv_cache_mib: float | None = None  # hf engine: cap on one call's KV cache (fewer prompts per call); null = batch_size alone
    gpu_memory_utilization: float = 0.3  # vllm: GPU memory fraction vLLM may take (colocated with training)
    sleep: bool = True  # vllm: sleep between generations so training gets the memory
    sleep_level: int = 1  # vllm: 1 = weights to CPU memory, KV cache dropped; 2 = both dropped, weights reloaded from the policy on waking (TRL's choice)
    max_model_len: int | None = None  # vllm: max prompt + completion tokens per sequence (null = the checkpoint's context length); smaller = less KV cache
    preemptive: bool = True  # DASH preemptive sampling: the whole step in one generate call (false = one call per train.micro_batch_size sequences, as TRL)


@dataclass
class EvalConfig:
    n: int = 64  # samples per test problem
    problems: Any = 200  # held-out test problems: a count or "all" (a partial multi-subject set is a seeded sample)
    problem_seed: int = 0  # which problems that sample holds (the same for every run and seed)
    k: list[int] | None = None  # pass@k / maj@k list (null = 1, 2, 4, ... n)
    temperature: float = 1.0  # sampling temperature at evaluation
    top_p: float = 1.0  # nucleus sampling mass at evaluation
    max_new_tokens: int | None = None  # completion cap (null = rollout.max_new_tokens)
    base: bool = True  # also evaluate the starting policy on the same problems and seeds


@dataclass
class BaseModelConfig:
    """How the tiny base is pre-trained (SFT on synthetic demos); hashed into its cache key."""

    tasks: list[str] = field(default_factory=lambda: ["${dataset.base_task}"])  # demo mixture (easy splits)
    weights: list[float] = field(default_factory=lambda: [1.0])  # sampling weight of each task
    steps: int = 250  # SFT optimizer steps
    batch_size: int = 32  # demos per step
    lr: float = 5e-3  # peak lr (cosine decay)
    seed: int = 0  # init and data order


# The linear layers of a Qwen2 / Llama decoder block: attention and MLP ("all-linear" in verl and TRL examples).
DECODER_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraConfig:
    """LoRA adapters through peft (bench/lora.py); r = 0 trains every weight."""

    r: int = 0  # adapter rank (0 = off: full fine-tuning; > 0 needs pip install -e ".[lora]")
    alpha: float = 32.0  # the adapters' update is B A * alpha / r
    target_modules: list[str] = field(default_factory=lambda: list(DECODER_LINEARS))  # module names that get adapters


@dataclass
class ModelConfig:
    name: str = MISSING  # tiny | hf
    path: str | None = None  # HF checkpoint dir or hub id (hf models)
    dtype: str = "float32"  # compute dtype: float32 | bfloat16 (autocast over fp32 master weights; float16 is refused for training)
    pure_low_precision: bool = False  # opt-in: store the weights (and AdamW state) in `dtype` too; at lr 1e-6 most bf16 updates round away
    micro_batch_size: int = 64  # default train.micro_batch_size: the tiny model's update at 0.4-0.5x the peak memory of a whole step (256), as fast
    gradient_checkpointing: bool = False  # keep only each decoder layer's input and recompute the layer in backward (one extra forward)
    hidden_size: int = 128  # tiny: width
    num_layers: int = 4  # tiny: decoder layers
    num_heads: int = 4  # tiny: attention heads
    num_kv_heads: int = 2  # tiny: key/value heads (GQA)
    intermediate_size: int = 384  # tiny: MLP width
    base: BaseModelConfig = field(default_factory=BaseModelConfig)  # tiny: pre-training recipe
    lora: LoraConfig = field(default_factory=LoraConfig)  # train LoRA adapters instead of every weight (r > 0)


@dataclass
class DatasetConfig:
    name: str = MISSING  # registered task name
    difficulty: str = "easy"  # synthetic tasks: easy | hard
    path: str | None = None  # real tasks: local jsonl/parquet in the hub schema
    reward: str | None = None  # dataset=jsonl: your reward, `module:function` or `file.py:function` of (completion, row)
    prompt: str = "default"  # prompt preset: default | chat | gsm8k | gsm8k_cot | minerva_math (README "Prompt presets"); its stop strings join rollout.stop
    base_task: str = "${.name}"  # synthetic task whose easy demos pre-train the tiny base for this dataset
    options: dict[str, Any] = field(default_factory=dict)  # extra task constructor options


@dataclass
class LoggerConfig:
    name: str = "none"  # none | wandb
    project: str = "rlvr-bench"  # wandb project
    mode: str = "offline"  # wandb mode: offline | online | disabled
    group: str | None = None  # wandb group (null = experiment name)


@dataclass
class Config:
    algorithm: Any = MISSING  # one of conf/algorithm/*
    model: ModelConfig = MISSING
    dataset: DatasetConfig = MISSING
    rollout: RolloutConfig = MISSING
    eval: EvalConfig = MISSING
    logger: LoggerConfig = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0  # seeds init, data order and sampling
    device: Device = Device.auto  # auto | cpu | cuda
    sharding: Sharding = Sharding.none  # under torchrun: none (replicated policy) | fsdp (README "Several processes, GPUs or nodes")
    experiment: str = "default"  # results/runs/<experiment>/...
    sweep_id: str = "${now:%Y-%m-%d_%H-%M-%S}"  # names the run/sweep dir; reuse it (with resume=auto) to finish a sweep
    resume: Resume = Resume.never  # never | auto (continue this run dir from its last checkpoint)
    threads: int | None = None  # torch CPU threads per job (null = torch default; joblib workers get cores/n_jobs)
    deterministic: bool = True  # torch.use_deterministic_algorithms (warn-only): same seed, same metrics
    plugins: list[str] = field(default_factory=list)  # your modules or .py files, imported first: their register_task / register_algorithm calls take effect


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for group, name, node in [
        ("algorithm", "grpo", GRPOConfig),
        ("algorithm", "sft", SFTConfig),
        ("algorithm", "ppo", PPOConfig),
        ("algorithm", "psr", PSRConfig),
        ("algorithm", "nsr", NSRConfig),
        ("algorithm", "w_reinforce", WReinforceConfig),
        ("algorithm", "relift", ReLIFTConfig),
        ("algorithm", "superrl", SuperRLConfig),
        ("model", "model", ModelConfig),
        ("dataset", "dataset", DatasetConfig),
        ("rollout", "rollout", RolloutConfig),
        ("eval", "eval", EvalConfig),
        ("logger", "logger", LoggerConfig),
    ]:
        cs.store(group=f"schema/{group}", name=name, node=node)
