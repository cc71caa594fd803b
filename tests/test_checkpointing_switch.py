"""`checkpointing_on`: whether log-probs skip the KV cache (transformers turns it off under recomputation).

Both spellings of the switch are read, each under the name the model's class has: the floor (4.56)
has only `is_gradient_checkpointing`, transformers 5.2x adds `is_activation_checkpointing` (and
may drop the old name). The classes below stand for those two kinds of model.
"""

from __future__ import annotations

import torch

from algorithms.checkpointing import checkpointing_on
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
