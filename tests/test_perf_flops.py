"""The FLOP count behind bench.perf's utilisation figures, on a hand-worked model and batch."""

import torch

from bench.models import new_tiny_model
from bench.perf_flops import forward_flops, linear_weights
from tests.rl_helpers import TINY


def test_forward_flops_count_each_shared_prompt_once_and_every_attended_position():
    model, tokenizer = new_tiny_model(TINY, 0)  # hidden 32, 2 layers, 2 heads of 16, 1 kv head, MLP 64, tied head
    vocab = model.config.vocab_size
    per_layer = 32 * 32 + 32 * 16 + 32 * 16 + 32 * 32 + 3 * 32 * 64  # q, k, v, o; gate, up, down
    assert sum(w.numel() for w in linear_weights(model)) == 2 * per_layer + vocab * 32
    # one group of two rows: prompt of 2 tokens; completions of 1 and 3 tokens
    prompts, completions = torch.tensor([2, 2]), torch.tensor([1, 3])
    tokens = 2 + 1 + 3
    attended = (1 + 2) + (3) + (3 + 4 + 5)  # the prompt's positions, then each completion token's context
    expected = 2 * (2 * per_layer + vocab * 32) * tokens + 4 * 2 * 2 * 16 * attended
    assert forward_flops(model, prompts, completions, n=2) == expected
    # the same rows as two groups of one: the prompt is computed twice
    assert forward_flops(model, prompts, completions, n=1) == expected + 2 * (2 * per_layer + vocab * 32) * 2 + 4 * 2 * 2 * 16 * 3

