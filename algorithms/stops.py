"""Where a completion ends: one definition for both rollout engines, the masks and SFT demos.

A completion ends at its first stop: a stop token (the tokenizer's eos, every id
in the model's `generation_config.eos_token_id`, the chat template's end-of-turn
token such as ChatML's `<|im_end|>`) or the token that completes a user stop
string (`rollout.stop` and the prompt preset's stops). The stop is part of the completion (it is what the
policy chose, so it is trained on); everything after it is padding, never
attended to or trained on, whatever its id (Qwen base tokenizers pad with eos).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

_MARKER = "\x1fRLVR-END-OF-TURN\x1f"  # text no template produces on its own


def end_of_turn_id(tokenizer) -> int | None:
    """The special token the chat template closes an assistant turn with; None without a template or such a token."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": _MARKER}]
    text = tokenizer.apply_chat_template(turns, tokenize=False)
    if _MARKER not in text:
        return None
    ids = tokenizer(text.split(_MARKER, 1)[1], add_special_tokens=False)["input_ids"]
    return ids[0] if ids and ids[0] in tokenizer.added_tokens_decoder else None


def stop_token_ids(tokenizer, generation_config=None) -> tuple[int, ...]:
    """Every token id that ends a completion, sorted."""
    eos = getattr(generation_config, "eos_token_id", None)
    ids = [tokenizer.eos_token_id, end_of_turn_id(tokenizer), *(eos if isinstance(eos, (list, tuple)) else [eos])]
    return tuple(sorted({i for i in ids if i is not None}))


def demo_end_id(tokenizer) -> int:
    """What a demonstration ends with: the end-of-turn token in chat format, else eos (what the policy must learn to emit)."""
    end = end_of_turn_id(tokenizer)
    return tokenizer.eos_token_id if end is None else end


def length_mask(lengths: Tensor, width: int) -> Tensor:
    """`[N, width]` float mask: 1 on the first `lengths[i]` positions of row i."""
    return (torch.arange(width, device=lengths.device) < lengths[:, None]).float()


@dataclass(frozen=True)
class Stops:
    """The stops of one generate call: token ids and stop strings (matched on the decoded text)."""

    token_ids: tuple[int, ...]
    strings: tuple[str, ...] = ()

    @property
    def window(self) -> int:
        """Tokens `hit` needs to see: a stop string of b bytes spans at most b tokens."""
        return max([len(s.encode()) for s in self.strings], default=1)

    def hit(self, recent: Tensor, tokenizer) -> Tensor:
        """`[rows]` bool: the last token of `recent` (`[rows, <= window]`, newest last) is a stop.

        The window holds every token of a stop string completed by the last token, so a
        string is found the first time it is complete, and only then.
        """
        hit = torch.isin(recent[:, -1], torch.tensor(self.token_ids, device=recent.device))
        if self.strings:
            texts = tokenizer.batch_decode(recent)
            hit |= torch.tensor([any(s in text for s in self.strings) for text in texts], device=recent.device)
        return hit

    def lengths(self, tokens: Tensor, tokenizer) -> tuple[Tensor, Tensor]:
        """Completion lengths `[N]` (up to and including the first stop) and `[N]` bool truncated (no stop at all)."""
        rows, width = tokens.shape
        lengths = torch.full((rows,), width, dtype=torch.long, device=tokens.device)
        done = torch.zeros(rows, dtype=torch.bool, device=tokens.device)
        for t in range(width):
            new = self.hit(tokens[:, max(0, t - self.window + 1) : t + 1], tokenizer) & ~done
            lengths[new], done = t + 1, done | new
        return lengths, ~done

    def texts(self, tokens: Tensor, lengths: Tensor, tokenizer) -> list[str]:
        """Decoded completions without special tokens, cut before the first stop string (as vLLM returns them)."""
        texts = tokenizer.batch_decode([row[:n] for row, n in zip(tokens.tolist(), lengths.tolist())], skip_special_tokens=True)
        return [self.cut(text) for text in texts]

    def cut(self, text: str) -> str:
        found = [i for i in (text.find(s) for s in self.strings) if i >= 0]
        return text[: min(found)] if found else text
