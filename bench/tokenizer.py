"""The tiny model's character tokenizer, a real fast tokenizer on disk.

One token per printable ASCII character plus newline covers every synthetic task
(GSM8K words, LaTeX, HotpotQA facts). It is written as a byte-level BPE with no
merges over GPT-2's byte alphabet: transformers 5 loads any qwen2 checkpoint's
tokenizer as `Qwen2Tokenizer` (byte-level) whatever `tokenizer_class` says, and
in this form that class tokenizes exactly as we do, so `AutoTokenizer` on a saved
tiny checkpoint round-trips.
"""

from __future__ import annotations

import string

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "<eos>", "unk_token": "<unk>"}
CHARACTERS = list(string.printable[:95]) + ["\n"]


def build_char_tokenizer() -> PreTrainedTokenizerFast:
    byte_alphabet = bytes_to_unicode()
    tokens = list(SPECIAL_TOKENS.values()) + [byte_alphabet[ord(c)] for c in CHARACTERS]
    vocab = {token: i for i, token in enumerate(tokens)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    # a causal LM takes no token_type_ids (transformers 4.x tokenizers return them unless told)
    return PreTrainedTokenizerFast(tokenizer_object=backend, padding_side="left", model_input_names=["input_ids", "attention_mask"], **SPECIAL_TOKENS)
