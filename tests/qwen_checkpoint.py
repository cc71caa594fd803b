"""A small real Qwen-style checkpoint, built on the fly: what `model=hf model.path=...` loads.

Everything a real Qwen2.5 checkpoint brings that the tiny char model does not:
a byte-level BPE tokenizer with merges (trained here with `tokenizers` on the
fixture rows), the special tokens `<|im_start|>`, `<|im_end|>`, `<|endoftext|>`
(pad = eos = `<|endoftext|>`, as Qwen base tokenizers), a ChatML chat template,
and a `generation_config.json` whose `eos_token_id` lists both stop ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

FIXTURES = Path(__file__).parent / "fixtures"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2.5's template, without tools: a default system turn, ChatML turns, the assistant prompt.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def corpus() -> list[str]:
    """A few KB of math and QA text: the fixture rows in their real schemas, plus the prompt words."""
    lines = ["You are a helpful assistant.", "system user assistant Question: Answer:"]
    for path in sorted(FIXTURES.glob("*/*.jsonl")):
        for row in map(json.loads, path.read_text().splitlines()):
            lines += [str(v) for v in row.values() if isinstance(v, str)]
    lines += [f"{a} + {b} = {a + b}. {a} * {b} = {a * b}. #### {a * b}" for a in range(1, 30) for b in range(1, 6)]
    return lines


def train_tokenizer(vocab_size: int = 600) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    backend.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHAT_TEMPLATE,
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )


# Qwen2.5-0.5B's shapes (its config.json), for the GPU tests: 494M parameters, no download.
QWEN25_05B_SHAPE = dict(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, vocab_size=151_936
)


def build_qwen_checkpoint(path: Path, seed: int = 0, hidden_size: int = 64, num_layers: int = 2, **shape: int) -> Path:
    """Save a randomly initialised Qwen2 (small unless `shape` says otherwise: Qwen2Config fields)
    and its tokenizer to `path`, as `save_pretrained` writes any checkpoint."""
    tokenizer = train_tokenizer()
    eos, im_end = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    sizes = dict(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=4, num_key_value_heads=2,
    ) | shape
    config = Qwen2Config(**sizes, max_position_embeddings=2048, tie_word_embeddings=True, bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    # As Qwen2.5-Instruct: generation stops on the end of a turn and on end-of-text.
    model.generation_config = GenerationConfig(bos_token_id=eos, eos_token_id=[im_end, eos], pad_token_id=eos)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
