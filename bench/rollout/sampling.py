"""Token sampling identical in distribution to transformers' warpers, with draws keyed per prompt.

Each prompt's draws come from its own generator, seeded from (call seed, prompt index), so a
prompt's samples are the same whatever else shares its batch, however a call is chunked and
however the prompts are split over processes (a 1- and an N-process run sample alike).
"""

from __future__ import annotations

import hashlib

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


def prompt_seed(seed: int, prompt_index: int) -> int:
    """A 63-bit seed for one prompt of a call: hashed, so nearby (seed, index) pairs share no stream."""
    return int.from_bytes(hashlib.blake2b(f"{seed}/{prompt_index}".encode(), digest_size=8).digest(), "big") >> 1


def prompt_uniforms(seed: int, prompt_indices: range, n: int, steps: int, device: torch.device) -> Tensor:
    """`[len(prompt_indices) * n, steps]` uniforms in [0, 1), prompt-major: row p*n + j is sample j of prompt p."""
    draws = [torch.rand(n, steps, generator=torch.Generator().manual_seed(prompt_seed(seed, p))) for p in prompt_indices]
    return torch.cat(draws).to(device)


def sample_tokens(logits: Tensor, temperature: float, top_p: float, uniforms: Tensor) -> tuple[Tensor, Tensor]:
    """One token per row, drawn by inverting the warped distribution's CDF at the row's uniform, and its log-prob.

    `temperature == 0` means greedy decoding (log-prob 0).
    """
    if temperature == 0:
        return logits.argmax(-1), torch.zeros(logits.shape[0], device=logits.device)
    logp = torch.log_softmax(warp_logits(logits, temperature, top_p), -1)
    cdf = logp.exp().cumsum(-1)
    total = cdf[:, -1:]
    # right=True: the first token whose CDF exceeds u*total, so a token of probability 0 is never drawn;
    # capped at the last token of positive probability, where rounding puts u*total at the total itself
    tokens = torch.searchsorted(cdf, uniforms.unsqueeze(-1) * total, right=True).squeeze(-1)
    tokens = torch.minimum(tokens, (cdf < total).sum(-1))
    return tokens, logp.gather(-1, tokens[:, None]).squeeze(-1)
