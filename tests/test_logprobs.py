"""The shared-prompt and checkpointed log-prob paths must equal the plain full-sequence forward."""

import pytest
import torch

from algorithms.checkpointing import checkpointing_on
from algorithms.logprobs import completion_logprobs, position_ids, target_logprobs
from algorithms.ppo import build_critic
from tests.rl_helpers import example, rollout_batch, single_thread, tiny_context  # noqa: F401 (fixture)


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
