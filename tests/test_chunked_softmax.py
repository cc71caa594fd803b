"""Chosen-token log-probs and entropies in chunks: the values and gradients of the plain
fp32 log-softmax, without keeping an fp32 copy of the logits for backward."""

from __future__ import annotations

import pytest
import torch

from algorithms import chunked_softmax
from algorithms.chunked_softmax import chosen_logprobs


def plain(logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)


# chunk sizes (elements): several rows per chunk, one row per chunk, slices of a row
@pytest.mark.parametrize("chunk", [10**6, 90, 40])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("with_entropy", [False, True])
def test_values_and_gradients_equal_the_plain_log_softmax(monkeypatch, chunk, dtype, with_entropy):
    monkeypatch.setattr(chunked_softmax, "CHUNK_ELEMENTS", chunk)
    generator = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(4, 5, 17, generator=generator)).to(dtype).requires_grad_()
    targets = torch.randint(0, 17, (4, 5), generator=generator)
    w_logp, w_entropy = torch.randn(2, 4, 5, generator=generator)
    logp, entropy = chosen_logprobs(logits.clone(), targets, 0.7, with_entropy)  # a model output, as in training
    ((w_logp * logp).sum() + ((w_entropy * entropy).sum() if with_entropy else 0)).backward()
    ours = logits.grad.clone()
    logits.grad = None
    ref_logp, ref_entropy = plain(logits, targets, 0.7)
    ((w_logp * ref_logp).sum() + ((w_entropy * ref_entropy).sum() if with_entropy else 0)).backward()
    assert logp.dtype == torch.float32 and ours.dtype == dtype
    torch.testing.assert_close(logp, ref_logp, atol=2e-6, rtol=1e-6)
    assert (entropy is None) != with_entropy
    if with_entropy:
        torch.testing.assert_close(entropy, ref_entropy, atol=1e-5, rtol=1e-5)  # lse - E[z] cancels a little
    torch.testing.assert_close(ours, logits.grad, atol=1e-5, rtol=1e-5)


def test_the_entropy_gradient_alone_flows():
    logits = torch.randn(2, 3, 11, requires_grad=True)
    _, entropy = chosen_logprobs(logits.clone(), torch.zeros(2, 3, dtype=torch.long), 1.0, True)
    entropy.sum().backward()
    ours = logits.grad.clone()
    logits.grad = None
    plain(logits, torch.zeros(2, 3, dtype=torch.long), 1.0)[1].sum().backward()
    torch.testing.assert_close(ours, logits.grad)


def test_backward_writes_the_gradient_over_the_logits_instead_of_allocating_it():
    leaf = torch.randn(2, 3, 11, requires_grad=True)
    logits = leaf * 1.0  # what a model returns: a non-leaf tensor of its own
    logp, _ = chosen_logprobs(logits, torch.zeros(2, 3, dtype=torch.long), 1.0, False)
    logp.sum().backward()
    torch.testing.assert_close(logits.detach(), leaf.grad)  # the logits' storage now holds d loss / d logits
    expected = torch.nn.functional.one_hot(torch.zeros(2, 3, dtype=torch.long), 11) - torch.softmax(leaf.detach(), -1)
    torch.testing.assert_close(leaf.grad, expected)


def test_expanded_logits_get_a_gradient_of_their_own():
    """Logits that share memory across rows (a view from `expand`) cannot hold their gradient in place."""
    leaf = torch.randn(1, 3, 11, requires_grad=True)
    targets = torch.tensor([[0, 1, 2], [3, 4, 5]])
    logp, _ = chosen_logprobs(leaf.expand(2, 3, 11), targets, 1.0, False)
    logp.sum().backward()
    ours = leaf.grad.clone()
    leaf.grad = None
    plain(leaf.expand(2, 3, 11), targets, 1.0)[0].sum().backward()
    torch.testing.assert_close(ours, leaf.grad)


def test_no_fp32_copy_of_the_logits_is_kept_for_backward():
    logits = torch.randn(2, 8, 1000, dtype=torch.bfloat16, requires_grad=True)
    targets = torch.randint(0, 1000, (2, 8))
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        logp, entropy = chosen_logprobs(logits, targets, 1.0, True)
    vocab_sized = [t for t in saved if t.shape[-1] == 1000]
    assert [t.dtype for t in vocab_sized] == [torch.bfloat16]  # the logits themselves, nothing else
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        plain(logits, targets, 1.0)
    assert any(t.dtype == torch.float32 and t.shape[-1] == 1000 for t in saved)  # what the plain path keeps


def test_more_positions_than_vocabulary_entries():
    """A row of more positions than classes (a tiny vocabulary, long completions) is chunked by whole rows and scored."""
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 7, 3, generator=generator)
    targets = torch.randint(0, 3, (2, 7), generator=generator)
    logp, entropy = chosen_logprobs(logits, targets, 1.0, True)
    ref_logp, ref_entropy = plain(logits, targets, 1.0)
    torch.testing.assert_close(logp, ref_logp)
    torch.testing.assert_close(entropy, ref_entropy, atol=1e-5, rtol=1e-5)
