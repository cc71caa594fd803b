"""The tiny model's character tokenizer, a real fast tokenizer on disk.

One token per printable ASCII character plus newline covers every synthetic
task (GSM8K words, LaTeX, HotpotQA facts). Built with `tokenizers` (BPE with no
merges = characters) and wrapped so `save_pretrained`/`from_pretrained` work.
"""

from __future__ import annotations

import string

from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "<eos>", "unk_token": "<unk>"}
CHARACTERS = list(string.printable[:95]) + ["\n"]


def build_char_tokenizer() -> PreTrainedTokenizerFast:
    tokens = list(SPECIAL_TOKENS.values()) + CHARACTERS
    vocab = {token: i for i, token in enumerate(tokens)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, padding_side="left", **SPECIAL_TOKENS)
