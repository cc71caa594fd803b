"""algorithms/sharding.py's FSDP2 branches in this process, on a gloo group of one: the same checks as
tests/test_sharding.py's two processes (there each process holds half; here one holds all), run where
a mutation tool's trampolines see them, and the edges two processes need not visit."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import save_file
from torch.distributed.tensor import DTensor

from algorithms import ALGORITHMS, sharding
from algorithms.configs import GRPOConfig, PPOConfig, ReLIFTConfig, SFTConfig
from algorithms.precision import compute_dtype, set_compute_dtype
from algorithms.reference import frozen_reference
from bench.checkpoint import load_weights
from tests.rl_helpers import rollout_batch, single_thread, tiny_context  # noqa: F401 (fixture)
from tests.sharding_worker import loss, measure, tiny


@pytest.fixture
def group_of_one():
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.fixture
def found(group_of_one) -> dict:
    return measure()


def test_one_process_holds_every_weight_and_its_reduced_gradient_is_the_whole_batchs(found):
    assert found["local_fraction"] == 1.0 and found["gathered_is_whole"]
    assert found["no_gradients_before"] and found["gradients_noted"] and found["no_gradients_after_reduce"]
    assert found["grad_max_diff"] == 0.0 and found["norm"][0] == pytest.approx(found["norm"][1], rel=1e-6)
    assert found["logits_after_step_diff"] == 0.0
    assert found["frozen_diff"] == 0.0 and found["frozen_is_frozen"]
    assert found["weights_keys_match"] and found["weights_diff"] == 0.0
    assert (found["load_missing"], found["load_unexpected"]) == (["lm_head.weight"], [])  # tied: saved once
    assert found["moments_diff"] == 0.0 and found["reloaded_weights_diff"] == 0.0
    assert (found["bf16_gathered_dtypes"], found["bf16_shard_dtypes"]) == (["torch.bfloat16"], ["torch.float32"])


def test_a_model_without_named_decoder_layers_is_refused(group_of_one):
    with pytest.raises(ValueError, match="sharding=fsdp found no decoder layers in Sequential"):
        sharding.shard(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_a_nested_gather_leaves_the_model_whole_until_the_outer_block_ends(group_of_one):
    model = tiny()
    sharding.shard(model)
    assert sharding.is_sharded(model) and not sharding.is_sharded(tiny())
    assert all(isinstance(p, DTensor) for p in model.parameters())
    with sharding.gathered(model):
        with sharding.gathered(model, tiny()):  # an enclosing block's model, and an unsharded one: no-ops
            pass
        assert not any(isinstance(p, DTensor) for p in model.parameters())
        loss(model, torch.ones((1, 3), dtype=torch.long)).backward()
        assert sharding.has_gradients(model, []) and not any(isinstance(p, DTensor) for p in model.parameters())
    assert all(isinstance(p, DTensor) for p in model.parameters())


def test_gradients_taken_after_a_gather_ends_are_not_noted(group_of_one):
    """The post-accumulate hooks live for the gathered block only; a second block gathers and hooks afresh."""
    model = tiny()
    sharding.shard(model)
    with sharding.gathered(model):
        pass
    with sharding.gathered(model):
        assert not sharding.has_gradients(model, []) and not any(isinstance(p, DTensor) for p in model.parameters())
        sharding.reduce_gradients(model)  # every process's zero-loss probe notes nothing
        assert not sharding.has_gradients(model, [])
        loss(model, torch.ones((1, 3), dtype=torch.long)).backward()
        assert sharding.has_gradients(model, [])


def test_after_a_step_the_model_is_as_whole_as_it_was(group_of_one):
    model = tiny()
    sharding.shard(model)
    sharding.after_step(model)
    sharding.after_step(tiny())  # unsharded: nothing to do
    assert all(isinstance(p, DTensor) for p in model.parameters())
    with sharding.gathered(model):
        sharding.reduce_gradients(model)  # leaves the shards registered, for the optimizer
        assert all(isinstance(p, DTensor) for p in model.parameters())
        sharding.after_step(model)
        assert not any(isinstance(p, DTensor) for p in model.parameters())


def test_a_sharded_policys_kl_reference_is_its_sharded_frozen_copy(group_of_one):
    model = tiny()
    sharding.shard(model)
    reference = frozen_reference(model)
    assert sharding.is_sharded(reference) and reference is not model and not any(p.requires_grad for p in reference.parameters())
    ids = torch.ones((1, 3), dtype=torch.long)
    with sharding.gathered(model, reference), torch.no_grad():
        assert torch.equal(reference(input_ids=ids).logits, model(input_ids=ids).logits)


def test_the_frozen_copy_of_bfloat16_weights_is_bfloat16(group_of_one):
    model = tiny().to(torch.bfloat16)
    sharding.shard(model)
    twin = sharding.frozen_copy(model)
    assert {p.dtype for p in twin.parameters()} == {torch.bfloat16}


def test_loading_whole_weights_reports_keys_as_load_state_dict_does(group_of_one):
    """torch's own sharded load fills a key the state lacks from the model's value and says nothing:
    a checkpoint without a weight must still be refused, naming it."""
    model = tiny()
    sharding.shard(model)
    weights = sharding.full_weights(model, keep=True)
    missing, unexpected = sharding.load_full_weights(model, {**weights, "value_head.weight": torch.zeros(1, 32)})
    assert (missing, unexpected) == (["lm_head.weight"], ["value_head.weight"])  # the tied copy, as load_state_dict says
    truncated = {k: v for k, v in weights.items() if k != "model.norm.weight"}
    assert sharding.load_full_weights(model, truncated) == (["model.norm.weight", "lm_head.weight"], [])


def test_a_checkpoint_without_a_weight_is_refused_for_a_sharded_model(group_of_one, tmp_path):
    model = tiny()
    sharding.shard(model)
    weights = sharding.full_weights(model, keep=True)
    save_file(weights, tmp_path / "model.safetensors")
    load_weights(model, tmp_path)  # whole, its tied copy saved once: loads
    save_file({k: v for k, v in weights.items() if k != "model.norm.weight"}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"does not match the model: missing \['model.norm.weight'\], unexpected \[\]"):
        load_weights(model, tmp_path)


def test_the_frozen_copy_keeps_the_compute_dtype_buffers_and_eval_mode(group_of_one):
    model = tiny()
    set_compute_dtype(model, torch.bfloat16)
    model.train()
    sharding.shard(model)
    twin = sharding.frozen_copy(model)
    assert compute_dtype(twin) == torch.bfloat16 and not twin.training and sharding.is_sharded(twin)
    assert all(p.dtype == torch.float32 for p in twin.parameters())
    for mine, theirs in zip(twin.buffers(), model.buffers(), strict=True):
        assert torch.equal(mine, theirs)
    assert len(list(twin.buffers())) > 0


def test_full_state_gathers_inside_lists_and_tuples_and_drops_off_rank_zero(group_of_one):
    model = tiny()
    sharding.shard(model)
    weight = model.model.embed_tokens.weight
    whole = weight.full_tensor()
    listed, tupled = sharding.full_state([weight, 3], keep=True), sharding.full_state((weight,), keep=True)
    assert type(listed) is list and torch.equal(listed[0], whole) and listed[1] == 3
    assert type(tupled) is tuple and torch.equal(tupled[0], whole) and not isinstance(tupled[0], DTensor)
    assert sharding.full_state({"w": weight, "n": 1}, keep=False) == {"w": None, "n": 1}
    assert torch.equal(sharding.local(weight), weight.to_local()) and sharding.local(whole) is whole


def test_reloaded_moments_are_sharded_as_their_parameters_and_the_step_count_is_not(group_of_one):
    model = tiny()
    sharding.shard(model)
    optimizer = torch.optim.AdamW(list(model.parameters()), lr=1e-2)
    with sharding.gathered(model):
        loss(model, torch.ones((1, 3), dtype=torch.long)).backward()
        sharding.reduce_gradients(model)
    optimizer.step()
    state = sharding.full_state(optimizer.state_dict(), keep=True)
    fresh = tiny(seed=1)
    sharding.shard(fresh)
    fresh_optimizer = torch.optim.AdamW(list(fresh.parameters()), lr=1e-2)
    sharding.load_optimizer(fresh_optimizer, state)
    params = list(fresh.parameters())
    for i, param in enumerate(params):
        moments = fresh_optimizer.state[param]
        assert isinstance(moments["exp_avg"], DTensor) and moments["exp_avg"].placements == param.placements
        assert not isinstance(moments["step"], DTensor) and float(moments["step"]) == 1.0
        assert torch.equal(moments["exp_avg_sq"].full_tensor(), state["state"][i]["exp_avg_sq"])


NORMS = {"relift": ["train/grad_norm", "train/sft_grad_norm"], "ppo": ["train/critic_grad_norm", "train/grad_norm"]}


@pytest.mark.usefixtures("single_thread")
@pytest.mark.parametrize(
    "config",
    [GRPOConfig(), SFTConfig(), ReLIFTConfig(sft_batch=2), PPOConfig(), PPOConfig(critic="head")],
    ids=["grpo", "sft", "relift", "ppo", "ppo-head"],
)
def test_a_sharded_update_steps_as_the_plain_one(group_of_one, config):
    """The update hands its sharded model to the step, which reduces the gathered gradients into the
    shards before stepping them (ReLIFT: its RL step and, with two all-wrong prompts in its buffer,
    its SFT step; PPO: its critic's step too, the separate critic sharded as the policy is). With one
    process the stepped weights are the plain update's."""
    plain, sharded = tiny_context(mini_batch_prompts=3), tiny_context(mini_batch_prompts=3)
    sharding.shard(sharded.model)
    batch = rollout_batch(plain, [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    torch.manual_seed(0)  # the same value head for both
    reference = ALGORITHMS.get(config.name)(config, plain)
    expected = reference.update(batch.examples, batch)
    torch.manual_seed(0)
    algorithm = ALGORITHMS.get(config.name)(config, sharded)  # its optimizer holds the shards, as the runner builds it
    with sharding.gathered(sharded.model):
        with torch.no_grad():  # a step's rollouts run the policy first, so FSDP initialises from its root
            sharded.model(input_ids=batch.sequences.input_ids[:1])
        found = algorithm.update(batch.examples, batch)
        assert not any(isinstance(p, DTensor) for p in sharded.model.parameters())  # gathered again after the step
    norms = [key for key in expected if key.endswith("grad_norm")]  # ReLIFT's SFT step and PPO's critic report their own
    assert sorted(norms) == NORMS.get(config.name, ["train/grad_norm"])
    for key in norms:
        assert found[key] == pytest.approx(expected[key], rel=1e-5) and expected[key] > 0, key
    weights = sharding.full_weights(sharded.model, keep=True)
    for name, value in plain.model.state_dict().items():
        if name in weights:
            torch.testing.assert_close(weights[name], value, rtol=1e-5, atol=1e-6, msg=name)
    if config.name == "ppo":
        assert sharding.is_sharded(algorithm.critic) is (config.critic == "separate")
        critic = sharding.full_state(algorithm.owned.state_dict(), keep=True)
        for name, value in reference.owned.state_dict().items():
            torch.testing.assert_close(critic[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_a_sharded_critic_reloads_its_whole_weights_and_refuses_a_truncated_state(group_of_one):
    """PPO's state holds the separate critic whole (as a checkpoint writes it); loading it back re-shards it."""
    ctx = tiny_context()
    sharding.shard(ctx.model)
    algorithm = ALGORITHMS.get("ppo")(PPOConfig(), ctx)
    saved = sharding.full_state(algorithm.state_dict(), keep=True)
    with torch.no_grad():
        for p in algorithm.owned.parameters():
            p.to_local().zero_()
    algorithm.load_state_dict(saved)
    reloaded = sharding.full_state(algorithm.owned.state_dict(), keep=True)
    assert reloaded.keys() == saved["critic"].keys() and all(torch.equal(reloaded[k], saved["critic"][k]) for k in reloaded)
    del saved["critic"]["head.bias"]
    with pytest.raises(KeyError, match=r"missing \['head.bias'\]"):
        algorithm.load_state_dict(saved)


def test_a_plain_copy_is_of_a_module_holding_units_never_of_a_unit(group_of_one):
    model = tiny()
    sharding.shard(model)
    twin = sharding.plain_copy(model.model)
    assert not sharding.units(twin) and not any(isinstance(p, DTensor) for p in twin.parameters())
    whole = sharding.full_state(model.model.state_dict(), keep=True)
    assert all(torch.equal(value, whole[name]) for name, value in twin.state_dict().items())
    with pytest.raises(ValueError, match="^FSDPQwen2ForCausalLM is an FSDP unit"):
        sharding.plain_copy(model)


def test_a_plain_copy_keeps_the_weights_dtype(group_of_one):
    model = tiny().to(torch.bfloat16)
    sharding.shard(model)
    assert {p.dtype for p in sharding.plain_copy(model.model).parameters()} == {torch.bfloat16}
