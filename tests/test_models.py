"""The tiny model and its tokenizer save and load like any HF checkpoint."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from bench.config import ModelConfig
from bench.models import new_tiny_model
from evaluators.tasks import get_task


def test_tiny_checkpoint_round_trips_through_auto_classes(tmp_path):
    model, tokenizer = new_tiny_model(ModelConfig(name="tiny"), seed=0)
    assert 0.5e6 < sum(p.numel() for p in model.parameters()) < 1.5e6
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    loaded_model = AutoModelForCausalLM.from_pretrained(tmp_path)
    texts = [get_task(name).load("test")[0] for name in ("gsm8k_synth", "math_synth", "hotpotqa_synth")]
    for example in texts:
        text = f"Q: {example.prompt}\nA: {example.demo}"
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert loaded_tokenizer(text, add_special_tokens=False)["input_ids"] == ids
        assert loaded_tokenizer.decode(ids) == text
        assert tokenizer.unk_token_id not in ids  # the vocabulary covers every synthetic task
    assert (loaded_tokenizer.eos_token_id, loaded_tokenizer.pad_token_id) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
    x = torch.tensor([ids[:20]])
    assert torch.equal(model(x).logits, loaded_model(x).logits)
