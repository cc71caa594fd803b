"""rollout=vllm: the supported version window, the sleep / wake / sync order, the merged weights it is sent,
a clear error without the extra or CUDA, and a real run where both exist."""

import importlib.util

import pytest
import torch

from bench.build import ConfigError, check_config
from bench.rollout.vllm import require_vllm, vllm_version_error
from bench.rollout.vllm_colocation import ColocatedLLM
from tests.conftest import compose_config

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM and torch.cuda.is_available(), reason="vLLM and CUDA are both present")
def test_missing_vllm_or_cuda_names_the_fix():
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[vllm\]"|needs a CUDA GPU|not supported'):
        require_vllm()


@pytest.mark.gpu
@pytest.mark.skipif(not (HAS_VLLM and torch.cuda.is_available()), reason="needs vLLM and CUDA")
def test_vllm_engine_generates_and_syncs_weights(tmp_path):
    from bench.config import ModelConfig
    from bench.models import new_tiny_model
    from bench.rollout.types import Sampling
    from bench.rollout.vllm import VLLMEngine

    model, tokenizer = new_tiny_model(ModelConfig(name="tiny"), seed=0)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model.config._name_or_path = str(tmp_path)
    engine = VLLMEngine(model.cuda(), tokenizer, torch.device("cuda"), 64, gpu_memory_utilization=0.2, sleep_level=2, max_model_len=256)
    generation = engine.generate(["Q: 1+1?\nA: "], 4, Sampling(1.0, 1.0, 8), seed=0)
    assert generation.completion_ids.shape[0] == 4
    engine.sync_weights(model)


def test_the_version_window_is_0_27_1_to_0_33_and_names_its_torch():
    for supported in ("0.27.1", "0.28.0", "0.30.0", "0.32.0", "0.32.3"):
        assert vllm_version_error(supported) is None, supported
    for unsupported in ("0.27.0", "0.8.5", "0.33.0", "0.34.0", "1.0.0"):
        error = vllm_version_error(unsupported)
        assert error and "0.27.1 <= vllm < 0.33" in error and "torch==2.13.0" in error, unsupported
    assert "not a version number" in vllm_version_error("dev-build")


class RecordingLLM:
    """Stands in for `vllm.LLM` (the engine under test is ColocatedLLM): records each call, in order."""

    def __init__(self, log: list) -> None:
        self.log, self.loaded = log, {}

    def sleep(self, level: int) -> None:
        self.log.append(f"sleep({level})")

    def wake_up(self, tags: list[str]) -> None:
        self.log.append(f"wake_up({','.join(tags)})")

    def collective_rpc(self, method: str, args: tuple) -> None:
        assert method == "load_policy_weights"
        self.loaded.update(args[0])
        if self.log[-1:] != ["load"]:  # one entry per sync, however many chunks it takes
            self.log.append("load")

    def reset_prefix_cache(self) -> None:
        self.log.append("reset_prefix_cache")

    def generate(self, prompts, params, use_tqdm: bool) -> list:
        self.log.append("generate")
        return []


def colocated(level: int, policy=None) -> tuple[ColocatedLLM, list]:
    log: list = []
    engine = ColocatedLLM(RecordingLLM(log), policy or torch.nn.Linear(2, 2), level, release_cache=lambda: log.append("empty_cache"))
    return engine, log


def test_level_1_wakes_weights_then_kv_cache_resets_the_prefix_cache_after_each_sync_and_frees_the_cache_first():
    engine, log = colocated(1)
    assert log == ["sleep(1)"]  # training has the memory until the first generation
    engine.generate(["p"], None)
    engine.sync(torch.nn.Linear(2, 2))  # after the update's backward pass
    engine.generate(["p"], None)
    assert log == [
        "sleep(1)",
        "empty_cache", "wake_up(weights)", "empty_cache", "wake_up(kv_cache)", "generate", "sleep(1)",
        "empty_cache", "wake_up(weights)", "load", "reset_prefix_cache",
        "empty_cache", "wake_up(kv_cache)", "generate", "sleep(1)",
    ]


def test_level_2_reloads_the_dropped_weights_from_the_policy_before_generating():
    policy = torch.nn.Linear(2, 2)
    engine, log = colocated(2, policy)
    engine.generate(["p"], None)
    assert log == [
        "sleep(2)", "empty_cache", "wake_up(weights)", "load", "reset_prefix_cache",
        "empty_cache", "wake_up(kv_cache)", "generate", "sleep(2)",
    ]
    assert engine.llm.loaded.keys() == policy.state_dict().keys()
    log.clear()
    engine.sync(policy)
    engine.generate(["p"], None)  # just synced: no second load
    assert log == ["empty_cache", "wake_up(weights)", "load", "reset_prefix_cache", "empty_cache", "wake_up(kv_cache)", "generate", "sleep(2)"]


def test_without_sleep_a_sync_still_resets_the_prefix_cache():
    engine, log = colocated(0)
    engine.generate(["p"], None)
    engine.sync(torch.nn.Linear(2, 2))
    assert log == ["generate", "load", "reset_prefix_cache"]


def test_a_lora_policy_syncs_its_merged_weights_under_the_bases_names(qwen_checkpoint):
    pytest.importorskip("peft", reason='needs the lora extra: pip install -e ".[lora]"')
    from transformers import AutoModelForCausalLM

    from bench.config import LoraConfig, ModelConfig
    from bench.models import load_policy

    policy, _ = load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="float32", lora=LoraConfig(r=2, alpha=4.0)), torch.device("cpu"))
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.fill_(0.01)
    engine, _ = colocated(0, policy)
    engine.sync(policy)
    base = AutoModelForCausalLM.from_pretrained(qwen_checkpoint, dtype=torch.float32).state_dict()
    sent = engine.llm.loaded
    assert sent.keys() == base.keys()
    params = dict(policy.named_parameters())
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"):
        module = f"base_model.model.{name.removesuffix('.weight')}"
        a, b = params[f"{module}.lora_A.default.weight"], params[f"{module}.lora_B.default.weight"]
        torch.testing.assert_close(sent[name], base[name] + b @ a * (4.0 / 2), rtol=0, atol=1e-6)
        assert not torch.equal(sent[name], base[name])
    torch.testing.assert_close(sent["model.embed_tokens.weight"], base["model.embed_tokens.weight"], rtol=0, atol=0)


def test_rollout_sleep_level_and_max_model_len_are_checked():
    with pytest.raises(ConfigError, match="rollout.sleep_level must be 1"):
        check_config(compose_config(["rollout=vllm", "rollout.sleep_level=3"]))
    with pytest.raises(ConfigError, match=r"rollout.max_model_len \(512\) must exceed rollout.max_new_tokens \(512\)"):
        check_config(compose_config(["rollout=vllm", "rollout.max_model_len=512"]))
    check_config(compose_config(["rollout=vllm", "rollout.sleep_level=2", "rollout.max_model_len=2048"]))
