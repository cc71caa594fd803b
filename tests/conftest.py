"""Shared fixtures: a private base-model cache and config composition."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.app import compose_config  # noqa: F401 (the tests import it from here)

# Small enough for seconds on a laptop CPU, real enough to train and evaluate.
SMOKE = [
    "model.base.steps=20",
    "train.steps=2",
    "rollout.prompts_per_step=4",
    "rollout.n=4",
    "rollout.max_new_tokens=16",
    "eval.n=4",
    "eval.problems=6",
]


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory) -> Path:
    """Every test builds and reuses base models in a throwaway cache, never ~/.cache."""
    root = tmp_path_factory.mktemp("rlvr-cache")
    os.environ["RLVR_BENCH_CACHE"] = str(root)
    return root


@pytest.fixture(scope="session")
def gsm8k_synth_eval(tmp_path_factory) -> Path:
    """The run dir of one real `python -m bench.eval` of the smoke base on gsm8k_synth
    (60 problems x 4 samples of 32 tokens), shared by the tests that read its outputs."""
    from tests.cli_helpers import REPO, bench_env

    out = tmp_path_factory.mktemp("gsm8k-synth-eval")
    command = [sys.executable, "-m", "bench.eval", *SMOKE, "eval.problems=60", "rollout.max_new_tokens=32", f"hydra.run.dir={out}"]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def qwen_checkpoint(tmp_path_factory) -> Path:
    """A small real Qwen2 checkpoint directory (BPE tokenizer, ChatML template, two stop ids), built once per session."""
    from tests.qwen_checkpoint import build_qwen_checkpoint

    return build_qwen_checkpoint(tmp_path_factory.mktemp("qwen2-fixture"))
