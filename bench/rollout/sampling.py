"""Token sampling identical in distribution to transformers' warpers."""

from __future__ import annotations

import torch
from torch import Tensor


def warp_logits(logits: Tensor, temperature: float, top_p: float) -> Tensor:
    """Temperature then nucleus filtering, as `TemperatureLogitsWarper` + `TopPLogitsWarper`."""
    scores = logits.float() / temperature
    if top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=False)
        cumulative = sorted_scores.softmax(-1).cumsum(-1)
        remove = cumulative <= (1 - top_p)
        remove[..., -1:] = False  # keep at least the most likely token
        scores = scores.masked_fill(remove.scatter(-1, order, remove), -float("inf"))
    return scores


def sample_tokens(logits: Tensor, temperature: float, top_p: float) -> tuple[Tensor, Tensor]:
    """One token per row and its log-prob under the warped distribution.

    `temperature == 0` means greedy decoding (log-prob 0).
    """
    if temperature == 0:
        return logits.argmax(-1), torch.zeros(logits.shape[0], device=logits.device)
    logp = torch.log_softmax(warp_logits(logits, temperature, top_p), -1)
    tokens = torch.multinomial(logp.exp(), 1).squeeze(-1)
    return tokens, logp.gather(-1, tokens[:, None]).squeeze(-1)
