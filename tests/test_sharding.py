"""FSDP2 sharding (algorithms/sharding.py) on two real processes (torchrun, gloo): what each process
holds, the gradient it reduces, the frozen copy, and whole states out and back in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from bench.build import check_sharding
from bench.preflight import ConfigError
from tests.cli_helpers import REPO, bench_env


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("sharding") / "found.json"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "tests/sharding_worker.py", str(out)]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(out.with_name(f"{out.name}.rank{rank}").read_text()) for rank in (0, 1)]


def test_each_process_holds_half_of_the_weights_and_gathers_them_whole(measured):
    for found in measured:
        assert found["local_fraction"] == pytest.approx(0.5, abs=0.01)
        assert found["gathered_is_whole"]


def test_gradients_accumulated_apart_reduce_to_their_sum(measured):
    """Rank 0 trains two micro-batches and rank 1 one, with decode loops of different lengths between:
    no forward communicates, and the reduced shards hold the summed (not averaged) gradient."""
    for found in measured:
        assert found["no_gradients_before"] and found["gradients_noted"] and found["no_gradients_after_reduce"]
        assert found["grad_max_diff"] == 0.0
        assert found["norm"][0] == pytest.approx(found["norm"][1], rel=1e-6)
        assert found["logits_after_step_diff"] == 0.0  # the copy gathered after the step is the stepped one


def test_the_frozen_copy_is_the_policy_and_is_frozen(measured):
    for found in measured:
        assert found["frozen_diff"] == 0.0 and found["frozen_is_frozen"]


def test_whole_weights_and_moments_go_out_and_back_in(measured):
    rank0, rank1 = measured
    assert rank0["weights_keys_match"] and rank0["weights_diff"] == 0.0
    assert rank1["dropped_elsewhere"]  # only rank 0, which writes the checkpoint, keeps the gathered state
    for found in measured:
        assert found["load_missing"] == ["lm_head.weight"] and found["load_unexpected"] == []  # tied: saved once
        assert found["moments_diff"] == 0.0 and found["reloaded_weights_diff"] == 0.0


def test_bfloat16_compute_gathers_bfloat16_over_float32_shards(measured):
    for found in measured:
        assert found["bf16_gathered_dtypes"] == ["torch.bfloat16"]
        assert found["bf16_shard_dtypes"] == ["torch.float32"]


def sharded(**overrides) -> OmegaConf:
    cfg = {"sharding": "fsdp", "algorithm": {"name": "grpo"}, "model": {"lora": {"r": 0}}}
    return OmegaConf.merge(cfg, overrides)


@pytest.mark.parametrize(
    ("cfg", "world", "error"),
    [
        (sharded(), 1, "one process has nothing to shard"),
        (sharded(model={"lora": {"r": 8}}), 2, "LoRA"),
    ],
    ids=["one-process", "lora"],
)
def test_what_sharding_does_not_cover_is_refused_by_name(cfg, world, error):
    with pytest.raises(ConfigError, match=error):
        check_sharding(cfg, world)
    check_sharding(OmegaConf.merge(cfg, {"sharding": "none"}), world)


def test_ppo_with_its_separate_critic_is_sharded_not_refused():
    check_sharding(sharded(algorithm={"name": "ppo"}), 2)
