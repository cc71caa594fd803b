"""`checkpointing_on`: whether log-probs skip the KV cache (transformers turns it off under recomputation),
and `enable_checkpointing`, which turns recomputation on.

Both spellings of the switch are read, each under the name the model's class has: the floor (4.56)
has only `is_gradient_checkpointing`, transformers 5.2x adds `is_activation_checkpointing` (and
may drop the old name). The classes below stand for those two kinds of model.
"""

from __future__ import annotations

import warnings

import torch

from algorithms.checkpointing import checkpointing_on, enable_checkpointing
from tests.rl_helpers import tiny_context


class OldNameOnly(torch.nn.Linear):
    """A model of transformers before the rename: only `is_gradient_checkpointing`."""

    is_gradient_checkpointing = True


class NewNameOnly(torch.nn.Linear):
    """A model of a transformers that dropped the old name: only `is_activation_checkpointing`."""

    is_activation_checkpointing = True


def test_checkpointing_is_read_under_whichever_name_the_model_class_has():
    """Pins the name choice: the old-only class is read as `is_gradient_checkpointing`, the new-only one as
    `is_activation_checkpointing`; reading the other name would find nothing and say False."""
    assert checkpointing_on(OldNameOnly(2, 2).train())
    assert checkpointing_on(NewNameOnly(2, 2).train())


def test_checkpointing_counts_only_in_training_mode_and_defaults_to_off():
    """Pins `... and model.training` and the False default: eval mode keeps the KV-cache path, and a
    module with neither attribute (or a Qwen2 in training without checkpointing) is not checkpointing."""
    assert not checkpointing_on(OldNameOnly(2, 2).eval())
    assert not checkpointing_on(NewNameOnly(2, 2).eval())
    assert not checkpointing_on(torch.nn.Linear(2, 2).train())  # neither name: off, not an AttributeError
    model = tiny_context().model.train()
    assert not checkpointing_on(model)
    model.gradient_checkpointing_enable()
    assert checkpointing_on(model) and not checkpointing_on(model.eval())


class OldSwitchOnly(torch.nn.Linear):
    """A model of transformers before the rename: only `gradient_checkpointing_enable`, whose default is reentrant."""

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None):
        self.received = gradient_checkpointing_kwargs


def test_checkpointing_is_switched_on_non_reentrant_under_either_name():
    """The installed transformers takes the new name (the old one would warn) and checkpoints every
    layer non-reentrantly; a model with only the old name gets the same kwargs under it."""
    model = tiny_context().model
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        enable_checkpointing(model)
    assert model.model.layers[0]._gradient_checkpointing_func.keywords == {"use_reentrant": False}
    old = OldSwitchOnly(2, 2)
    enable_checkpointing(old)
    assert old.received == {"use_reentrant": False}
