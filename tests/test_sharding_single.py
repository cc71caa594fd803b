"""algorithms/sharding.py on an unsharded model in one process: the branches every plain run takes.

(The FSDP2 branches need a process group: tests/test_sharding.py runs them under torchrun.)
"""

from __future__ import annotations

import torch

from algorithms import sharding


def test_has_gradients_of_an_unsharded_model_is_whether_any_param_has_a_grad():
    """Pins `any(p.grad is not None ...)`: none before a backward, some after one (even with another param
    left without a gradient), none again once they are cleared to None."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    params = list(model.parameters())
    assert not sharding.is_sharded(model)
    assert not sharding.has_gradients(model, params)
    model[0](torch.ones(1, 2)).sum().backward()  # the second layer gets no gradient
    assert sharding.has_gradients(model, params)
    model(torch.ones(1, 2)).sum().backward()
    assert all(p.grad is not None for p in params) and sharding.has_gradients(model, params)
    model.zero_grad(set_to_none=True)
    assert not sharding.has_gradients(model, params)
