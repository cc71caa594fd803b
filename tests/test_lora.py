"""LoRA through peft on the real small Qwen2 checkpoint: same first step, only adapters train,
the reference is the base, checkpoints hold the adapters, engines get the merged weights."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM

from algorithms.context import TrainContext, TrainSettings
from algorithms.logprobs import completion_logprobs
from algorithms.reference import AdaptersDisabled, frozen_reference
from bench.build import ConfigError, check_config
from bench.checkpoint import load_weights, save_checkpoint
from bench.config import LoraConfig, ModelConfig
from bench.lora import merged_weights
from bench.models import load_policy
from bench.runner import scratch_runner
from evaluators.tasks import get_task
from tests.conftest import compose_config
from tests.rl_helpers import rollout_batch

peft = pytest.importorskip("peft", reason='the LoRA tests need the lora extra: pip install -e ".[lora]"')

LORA = ["model.lora.r=4", "model.lora.alpha=8", "model.lora.target_modules=[q_proj,v_proj,up_proj]"]


def run_config(checkpoint, *extra: str, algorithm: str = "grpo"):
    """KL and an entropy bonus on (so the loss reads the policy), a few tiny steps of the fixture Qwen2 on CPU."""
    return compose_config([
        "model=hf", f"model.path={checkpoint}", "model.dtype=float32", "dataset=gsm8k_synth", "device=cpu",
        f"algorithm={algorithm}", "algorithm.kl_coef=0.05", "algorithm.entropy_coef=0.01", "train.lr=1e-2",
        "rollout.prompts_per_step=4", "rollout.n=4", "rollout.max_new_tokens=12", "eval.n=2", "eval.problems=2",
        "train.micro_batch_size=8", *extra,
    ])


def perturbed_lora_policy(checkpoint, r: int = 4, alpha: float = 8.0):
    """A LoRA policy whose B matrices are random, so the adapters change its outputs."""
    model, tokenizer = load_policy(ModelConfig(name="hf", path=str(checkpoint), dtype="float32", lora=LoraConfig(r=r, alpha=alpha, target_modules=["q_proj", "v_proj"])), torch.device("cpu"))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    return model, tokenizer


def adapters(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if "lora_" in k}


def frozen(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if "lora_" not in k}


@pytest.mark.parametrize("algorithm, terms", [("grpo", {"loss/kl"}), ("ppo", {"loss/value", "train/reward_kl"})])
def test_a_lora_run_has_the_plain_runs_first_step(qwen_checkpoint, algorithm, terms):
    """B = 0: the adapted policy is the base, so rollouts, every loss term and the KL (to a reference that is
    the policy with adapters off) match the full fine-tuning run's; PPO's critic trains on the LoRA transformer."""
    plain = scratch_runner(run_config(qwen_checkpoint, algorithm=algorithm)).step(0)
    lora = scratch_runner(run_config(qwen_checkpoint, *LORA, algorithm=algorithm)).step(0)
    losses = [k for k in plain if k.startswith("loss/")]
    assert {"loss/pg", "loss/entropy"} | terms <= set(plain)
    for key in [*losses, *terms, "rollout/reward_mean", "train/ratio_mean"]:
        assert lora[key] == pytest.approx(plain[key], abs=1e-3), key
    assert plain["train/grad_norm"] > 0  # a real update happened in both


def test_only_the_adapters_get_gradients_and_move(qwen_checkpoint):
    runner = scratch_runner(run_config(qwen_checkpoint, *LORA))
    model = runner.session.model
    trained = {id(p) for p in runner.algorithm.pg.params}
    assert trained == {id(p) for name, p in model.named_parameters() if "lora_" in name}
    base, before = frozen(model), adapters(model)
    assert all(float(v.abs().max()) == 0 for k, v in before.items() if "lora_B" in k)  # B starts at zero
    runner.step(0)
    runner.step(1)  # A's gradient is B^T-weighted: zero at step 1, nonzero once B has moved
    after = adapters(model)
    assert all(torch.equal(v, frozen(model)[k]) for k, v in base.items()), "a frozen base weight moved"
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(moved) == len(before), f"adapters that did not move: {sorted(set(before) - set(moved))[:4]}"


def test_the_reference_is_the_base_with_adapters_disabled_and_no_second_copy(qwen_checkpoint):
    policy, tokenizer = perturbed_lora_policy(qwen_checkpoint)
    base = AutoModelForCausalLM.from_pretrained(qwen_checkpoint, dtype=torch.float32)
    settings = TrainSettings(lr=1e-3, weight_decay=0.0, grad_clip=1.0, warmup_steps=0, micro_batch_size=8,
                             mini_batch_prompts=2, temperature=1.0, max_new_tokens=6, steps=1)
    batch = rollout_batch(TrainContext(policy, tokenizer, get_task("gsm8k_synth"), settings, torch.device("cpu")), [[1, 0, 1], [0, 0, 1]])
    rows = torch.arange(len(batch.rewards))
    reference = frozen_reference(policy)
    assert isinstance(reference, AdaptersDisabled)
    assert {p.data_ptr() for p in reference.parameters()} == {p.data_ptr() for p in policy.parameters()}
    with torch.no_grad():
        ref_logp = completion_logprobs(reference, batch, rows)[0]
        base_logp = completion_logprobs(base, batch, rows)[0]
        policy_logp = completion_logprobs(policy, batch, rows)[0]
    torch.testing.assert_close(ref_logp, base_logp, rtol=0, atol=1e-5)
    assert float(((policy_logp - base_logp) * batch.mask).abs().max()) > 1e-3  # the adapters are on for the policy itself


def test_merged_weights_are_w_plus_b_a_alpha_over_r_under_the_bases_names(qwen_checkpoint):
    policy, _ = perturbed_lora_policy(qwen_checkpoint, r=4, alpha=8.0)
    merged = dict(merged_weights(policy))
    base = AutoModelForCausalLM.from_pretrained(qwen_checkpoint, dtype=torch.float32)
    assert set(merged) == set(base.state_dict())
    params = dict(policy.named_parameters())
    prefix = "base_model.model."
    checked = 0
    for name in merged:
        module = name.removesuffix(".weight")
        a = params.get(f"{prefix}{module}.lora_A.default.weight")
        if a is None:
            torch.testing.assert_close(merged[name], base.state_dict()[name], rtol=0, atol=0)
            continue
        w, b = params[f"{prefix}{module}.base_layer.weight"], params[f"{prefix}{module}.lora_B.default.weight"]
        torch.testing.assert_close(merged[name], w + b @ a * (8.0 / 4), rtol=0, atol=1e-6)
        checked += 1
    assert checked == 2 * len(base.model.layers)  # q_proj and v_proj of every layer
    # A plain model holding the merged weights computes what the adapted policy does: what vLLM serves.
    base.load_state_dict(merged)
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    with torch.no_grad():
        torch.testing.assert_close(base(input_ids=ids).logits, policy(input_ids=ids).logits, rtol=1e-4, atol=1e-4)
    assert all(float(v.abs().max()) > 0 for k, v in adapters(policy).items() if "lora_B" in k)  # the policy kept its adapters


def test_a_checkpoint_holds_the_adapters_and_resumes_to_the_same_weights(qwen_checkpoint, tmp_path):
    cfg = run_config(qwen_checkpoint, *LORA)
    runner = scratch_runner(cfg)
    runner.step(0)
    runner.step(1)
    checkpoint = runner.save(2)
    files = {p.name for p in checkpoint.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json"} <= files and "model.safetensors" not in files
    resumed = scratch_runner(cfg)
    assert resumed.restore(checkpoint) == 2
    trained, loaded = runner.session.model.state_dict(), resumed.session.model.state_dict()
    assert trained.keys() == loaded.keys()
    for key in trained:
        assert torch.equal(trained[key], loaded[key]), key
    # The adapters load onto the base as any peft checkpoint does.
    base = AutoModelForCausalLM.from_pretrained(qwen_checkpoint, dtype=torch.float32)
    from_disk = peft.PeftModel.from_pretrained(base, checkpoint)
    for key, value in adapters(runner.session.model).items():
        assert torch.equal(dict(from_disk.named_parameters())[key], value), key
    # model.path=<that checkpoint> (as bench.eval takes it) loads the base with the trained adapters on.
    evaluated, _ = load_policy(ModelConfig(name="hf", path=str(checkpoint), dtype="float32"), torch.device("cpu"))
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    with torch.no_grad():
        torch.testing.assert_close(evaluated(input_ids=ids).logits, runner.session.model(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
    plain, _ = load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="float32"), torch.device("cpu"))
    with pytest.raises(ValueError, match="does not match the model"):
        load_weights(plain, checkpoint)  # a plain run cannot resume from adapters
    full = save_checkpoint(tmp_path / "full", 1, plain, runner.session.tokenizer, {})
    with pytest.raises(ValueError, match="holds no LoRA adapters"):
        load_weights(resumed.session.model, full)  # nor a LoRA run from a full fine-tuning checkpoint


def test_lora_config_errors_name_the_key_or_the_extra(qwen_checkpoint, monkeypatch):
    for override, message in [
        ("model.lora.r=-1", "model.lora.r must be >= 0"),
        ("model.lora.alpha=0", "model.lora.alpha must be > 0"),
        ("model.lora.target_modules=[]", "target_modules is empty"),
    ]:
        r = [] if override.startswith("model.lora.r=") else ["model.lora.r=8"]
        with pytest.raises(ConfigError, match=message):
            check_config(run_config(qwen_checkpoint, *r, override))
    monkeypatch.setitem(sys.modules, "peft", None)  # what Python sees when peft is not installed
    with pytest.raises(ConfigError, match=r'needs peft: pip install -e "\.\[lora\]"'):
        check_config(run_config(qwen_checkpoint, "model.lora.r=8"))
    check_config(run_config(qwen_checkpoint))  # r = 0 (the default) never needs peft


@pytest.mark.slow  # ~35 s; .ci/run runs it
def test_a_lora_cli_run_checkpoints_adapters_and_resumes_to_the_same_adapters(qwen_checkpoint, tmp_path):
    """The real CLI: a run killed after its step-1 checkpoint (its later outputs removed) resumes to the same final adapters."""
    from safetensors.torch import load_file

    from tests.cli_helpers import bench

    args = ["model=hf", f"model.path={qwen_checkpoint}", "model.dtype=float32", "device=cpu", "algorithm.entropy_coef=0.01",
            "train.save_every=1", "train.lr=1e-2", *LORA]
    whole = tmp_path / "whole"
    result = bench(*args, f"hydra.run.dir={whole}")
    assert result.returncode == 0, result.stderr[-3000:]
    final = whole / "checkpoints" / "step_000002"
    assert (final / "adapter_model.safetensors").exists() and not (final / "model.safetensors").exists()
    assert json.loads((whole / "eval.json").read_text())["versions"]["peft"] == peft.__version__  # results name the peft they ran
    killed = tmp_path / "killed"
    shutil.copytree(whole, killed)
    shutil.rmtree(killed / "checkpoints" / "step_000002")
    (killed / "eval.json").unlink()
    result = bench(*args, f"hydra.run.dir={killed}", "resume=auto")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (killed / "app.log").read_text()
    a, b = (load_file(d / "checkpoints" / "step_000002" / "adapter_model.safetensors") for d in (whole, killed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(float(v.abs().max()) > 0 for k, v in a.items() if "lora_B" in k)  # the adapters trained
