"""An algorithm's state_dict is all a resumed run needs besides the weights: optimizer moments and
step counts, schedulers. A restored copy takes the very step the original takes next."""

import copy

import pytest
import torch

from algorithms import ALGORITHMS
from algorithms.configs import GRPOConfig, PPOConfig, SFTConfig
from tests.rl_helpers import rollout_batch, single_thread, snapshot, tiny_context  # noqa: F401 (fixture)


@pytest.mark.usefixtures("single_thread")
@pytest.mark.parametrize("config", [GRPOConfig(), SFTConfig(), PPOConfig()], ids=["grpo", "sft", "ppo"])
def test_a_restored_algorithm_takes_the_originals_next_step(config):
    original, restored = tiny_context(), tiny_context()
    first, second = rollout_batch(original, [[1.0, 0.0], [0.0, 1.0]], seed=1), rollout_batch(original, [[0.0, 1.0], [1.0, 1.0]], seed=2)
    algorithm = ALGORITHMS.get(config.name)(config, original)
    algorithm.update(first.examples, first)
    state = snapshot(original.model), copy.deepcopy(algorithm.state_dict())  # as a checkpoint file holds it, not the live moments
    twin = ALGORITHMS.get(config.name)(config, restored)
    restored.model.load_state_dict(state[0])
    twin.load_state_dict(state[1])
    algorithm.update(second.examples, second)
    twin.update(second.examples, second)
    for name, value in original.model.state_dict().items():
        torch.testing.assert_close(restored.model.state_dict()[name], value, rtol=0, atol=0, msg=name)
    fresh = tiny_context()  # without the state: AdamW's second step from zero moments differs
    fresh.model.load_state_dict(state[0])
    ALGORITHMS.get(config.name)(config, fresh).update(second.examples, second)
    assert any(not torch.equal(fresh.model.state_dict()[k], v) for k, v in original.model.state_dict().items())


def test_the_learning_rate_warms_up_linearly_then_holds():
    """Pins make_optimizer's schedule: lr * min(1, (step + 1) / (warmup + 1)), so warmup 2 gives 1/3, 2/3, then 1 for good."""
    from algorithms.context import make_optimizer

    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.zeros(1))], lr=0.3, weight_decay=0.0, warmup_steps=2)
    lrs = []
    for _ in range(5):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([0.1, 0.2, 0.3, 0.3, 0.3])
    optimizer, _ = make_optimizer([torch.nn.Parameter(torch.zeros(1))], lr=0.3, weight_decay=0.0, warmup_steps=-1)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.3)  # a negative warmup is none
