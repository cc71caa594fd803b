"""Policies: the tiny embedded model (built and cached once) or any HF causal LM."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

from algorithms.checkpointing import enable_checkpointing
from algorithms.precision import set_compute_dtype
from bench.availability import is_local_path
from bench.config import ModelConfig
from bench.lora import with_lora
from bench.tokenizer import build_char_tokenizer

log = logging.getLogger(__name__)
# The modules whose code builds the tiny base: pre-training loop, SFT loss (and the log-probs and
# aggregation it uses), demo tokenisation, tokenizer, architecture, and the generators of its demos.
BASE_CODE = (
    "bench.pretrain", "algorithms.sft", "algorithms.losses", "algorithms.logprobs", "algorithms.batch",
    "bench.tokenizer", "bench.models", "evaluators.tasks.synthetic", "evaluators.tasks.prompting",
    "evaluators.tasks.gsm8k_synth", "evaluators.tasks.math_synth", "evaluators.tasks.hotpotqa_synth",
)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cache_root() -> Path:
    return Path(os.environ.get("RLVR_BENCH_CACHE", Path.home() / ".cache" / "rlvr-bench"))


def tiny_architecture(cfg: ModelConfig, tokenizer) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )


def new_tiny_model(cfg: ModelConfig, seed: int) -> tuple[Qwen2ForCausalLM, object]:
    """A freshly initialised tiny model and its tokenizer (not pre-trained)."""
    tokenizer = build_char_tokenizer()
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(tiny_architecture(cfg, tokenizer)), tokenizer


def resolved(node) -> dict:
    """A config node (or dataclass) as a plain dict, interpolations such as `${dataset.base_task}` resolved."""
    return OmegaConf.to_container(node if OmegaConf.is_config(node) else OmegaConf.structured(node), resolve=True)


def source_digest(paths: list[Path]) -> str:
    """sha256 over the bytes of `paths`, in order: changes whenever any of that code does."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def base_code_files() -> list[Path]:
    return [Path(importlib.util.find_spec(name).origin) for name in BASE_CODE]


def base_model_dir(cfg: ModelConfig) -> Path:
    """Cache directory of the pre-trained tiny base, keyed by its whole recipe and the code that builds it."""
    recipe = {
        "code": source_digest(base_code_files()),
        "architecture": {k: getattr(cfg, k) for k in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size")},
        "base": resolved(cfg.base),
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return cache_root() / "base" / digest


def ensure_base_model(cfg: ModelConfig) -> Path:
    """Build the tiny base once; concurrent callers wait on a lock and reuse it.

    The build goes to a temporary directory renamed into place, so a crash never
    leaves a half-written cache entry that a later run would trust.
    """
    target = base_model_dir(cfg)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").exists():
            return target
        from bench.pretrain import pretrain_base  # heavy: only when building

        log.info("building the tiny base model into %s (once per recipe)", target)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
        try:
            model, tokenizer = pretrain_base(cfg)
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            (staging / "recipe.json").write_text(json.dumps(resolved(cfg), indent=2, default=str))
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def load_policy(cfg: ModelConfig, device: torch.device) -> tuple[torch.nn.Module, object]:
    """The starting policy and its tokenizer, on `device`; with `model.lora.r > 0`, wrapped in fresh LoRA adapters."""
    if cfg.name == "tiny":
        path = str(ensure_base_model(cfg))
    elif cfg.name == "hf":
        path = cfg.path
        if path is None:
            raise ValueError("model=hf needs model.path=<checkpoint dir or hub id>")
    else:
        raise ValueError(f"unknown model {cfg.name!r}; known: tiny, hf")
    if is_local_path(path) and not Path(path).expanduser().exists():
        raise FileNotFoundError(f"model.path {path!r} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        weights = DTYPES[cfg.dtype] if cfg.pure_low_precision else torch.float32
        model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=False, dtype=weights)
    except OSError as error:
        raise OSError(
            f"could not load model {path!r}: not a local checkpoint directory, and the hub is "
            f"unreachable or has no such id ({error.__class__.__name__}: {str(error)[:200]})"
        ) from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model = with_lora(model, cfg.lora)
    set_compute_dtype(model, DTYPES[cfg.dtype])  # fp32 master weights, `model.dtype` compute (algorithms/precision.py)
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
        # transformers turns the KV cache off under checkpointing (algorithms/logprobs.py falls back)
        log.info("gradient checkpointing on: log-probs take one forward per full sequence, not the shared-prompt KV cache")
    return model.to(device), tokenizer
