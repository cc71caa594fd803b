"""The shared-prompt and checkpointed log-prob paths must equal the plain full-sequence forward."""

from dataclasses import replace

import pytest
import torch

from algorithms.checkpointing import checkpointing_on, enable_checkpointing
from algorithms.logprobs import completion_logprobs, position_ids, target_logprobs
from algorithms.ppo import build_critic
from bench.models import new_tiny_model
from tests.rl_helpers import TINY, example, rollout_batch, single_thread, tiny_context  # noqa: F401 (fixture)


@pytest.mark.usefixtures("single_thread")
@pytest.mark.parametrize("checkpointing", [False, True], ids=["shared prompt", "checkpointed full forward"])
def test_completion_logprobs_and_gradients_match_the_full_forward(checkpointing):
    ctx = tiny_context()
    if checkpointing:  # no KV cache under recomputation: completion_logprobs runs one forward over the sequences
        ctx.model.gradient_checkpointing_enable()
        assert checkpointing_on(ctx.model)
    # Prompts of different lengths (left padding differs) and a row subset that
    # splits groups unevenly, as gradient filtering does.
    examples = [example(3), example(12345), example(77)]
    batch = rollout_batch(ctx, [[1.0, 0.0, 1.0]] * 3, examples)
    rows = torch.tensor([0, 2, 3, 7, 8])
    weights = torch.randn(len(rows), batch.mask.shape[1], generator=torch.Generator().manual_seed(0))

    def loss_and_grads(logp, entropy):
        loss = (weights * batch.mask[rows] * (logp + entropy)).sum()
        ctx.model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in ctx.model.parameters()]

    full_logp, full_entropy = target_logprobs(ctx.model, batch.sequences.select(rows), with_entropy=True)
    shared_logp, shared_entropy = completion_logprobs(ctx.model, batch, rows, with_entropy=True)
    mask = batch.mask[rows]
    torch.testing.assert_close(shared_logp * mask, full_logp * mask, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(shared_entropy * mask, full_entropy * mask, atol=1e-5, rtol=1e-5)
    for shared, full in zip(loss_and_grads(shared_logp, shared_entropy), loss_and_grads(full_logp, full_entropy)):
        torch.testing.assert_close(shared, full, atol=1e-5, rtol=1e-4)


@pytest.mark.usefixtures("single_thread")
def test_critic_values_match_a_full_sequence_forward():
    ctx = tiny_context()
    batch = rollout_batch(ctx, [[1.0, 0.0]] * 3, [example(3), example(12345), example(77)])
    critic, _ = build_critic(ctx.model, "separate")
    rows = torch.tensor([1, 2, 5])
    sequences = batch.sequences.select(rows)
    hidden = critic.backbone(
        input_ids=sequences.input_ids, attention_mask=sequences.attention_mask, position_ids=position_ids(sequences.attention_mask)
    ).last_hidden_state
    # The value of completion token t is read at position t - 1.
    expected = critic.head(hidden[:, sequences.target_start - 1 : -1]).squeeze(-1)
    mask = batch.mask[rows]
    torch.testing.assert_close(critic(batch, rows) * mask, expected * mask, atol=1e-5, rtol=1e-5)


def test_position_ids_count_real_tokens_only():
    """Positions are cumsum(mask) - 1 over real tokens, pads clamped to 0, as `generate` numbers left-padded rows."""
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])
    # row 0: cumsum 0,0,1,2,3 -> -1,-1,0,1,2 -> clamp 0,0,0,1,2; row 1: 1,2,3,3,3 -> 0,1,2,2,2
    assert position_ids(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 2, 2]]


@pytest.mark.usefixtures("single_thread")
@pytest.mark.parametrize("hidden_size", [32, 4])
def test_checkpointed_critic_values_match_a_full_sequence_forward(hidden_size):
    """Under checkpointing the critic reads the last `length` hidden states of one forward (also when hidden_size == length)."""
    ctx = tiny_context()
    policy, _ = new_tiny_model(replace(TINY, hidden_size=hidden_size, intermediate_size=8), 0)
    batch = rollout_batch(ctx, [[1.0, 0.0]] * 3, [example(3), example(12345), example(77)])
    critic, _ = build_critic(policy, "separate")
    lengths = batch.mask.sum(1).long()
    rows = torch.tensor([1, 2, 5]) if hidden_size == 32 else (lengths <= 4).nonzero().squeeze(-1)
    assert hidden_size == 32 or int(lengths[rows].max()) == 4  # the trimmed length equals the hidden size
    sequences = batch.sequences.select(rows)
    with torch.no_grad():
        hidden = critic.backbone(
            input_ids=sequences.input_ids, attention_mask=sequences.attention_mask, position_ids=position_ids(sequences.attention_mask)
        ).last_hidden_state
        expected = critic.head(hidden[:, sequences.target_start - 1 : -1]).squeeze(-1)
    critic.train()
    enable_checkpointing(critic.backbone)
    assert checkpointing_on(critic.backbone)
    mask = batch.mask[rows]
    torch.testing.assert_close(critic(batch, rows) * mask, expected * mask, atol=1e-5, rtol=1e-5)


@pytest.mark.usefixtures("single_thread")
@pytest.mark.parametrize("checkpointing", [False, True], ids=["shared prompt", "checkpointed full forward"])
def test_rows_without_completion_tokens_get_log_probs_of_the_full_width(checkpointing):
    """Rows whose completions are all empty are scored over one position (no crash on an empty mask) and padded to T."""
    ctx = tiny_context()
    if checkpointing:
        enable_checkpointing(ctx.model)
    batch = rollout_batch(ctx, [[1.0, 0.0]] * 2)
    empty = replace(batch.sequences, target_mask=torch.zeros_like(batch.mask))
    batch = replace(batch, sequences=empty)
    rows = torch.tensor([0, 3])
    logp, entropy = completion_logprobs(ctx.model, batch, rows)
    full, full_entropy = target_logprobs(ctx.model, batch.sequences.select(rows))
    assert entropy is None and full_entropy is None  # entropies only when asked for
    assert logp.shape == (2, batch.mask.shape[1]) and (logp[:, 1:] == 0).all()
    torch.testing.assert_close(logp[:, 0], full[:, 0], atol=1e-5, rtol=1e-5)  # the one position it scores


@pytest.mark.usefixtures("single_thread")
def test_completion_logprobs_do_not_depend_on_the_configs_use_cache():
    """The shared prompt's KV cache is asked for explicitly, so a checkpoint saved with `use_cache: false` still works."""
    ctx = tiny_context()
    ctx.model.config.use_cache = False
    batch = rollout_batch(ctx, [[1.0, 0.0]] * 2, [example(3), example(12345)])
    rows = torch.tensor([0, 1, 3])
    full, _ = target_logprobs(ctx.model, batch.sequences.select(rows))
    shared, _ = completion_logprobs(ctx.model, batch, rows)
    mask = batch.mask[rows]
    torch.testing.assert_close(shared * mask, full * mask, atol=1e-5, rtol=1e-5)
