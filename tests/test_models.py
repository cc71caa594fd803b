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


def test_base_cache_key_covers_the_code_that_builds_the_base(tmp_path):
    import inspect
    from pathlib import Path

    from algorithms.batch import tokenize_demos
    from algorithms.logprobs import target_logprobs
    from algorithms.losses import agg_loss
    from algorithms.sft import nll_backward
    from bench.models import base_code_files, source_digest
    from bench.pretrain import pretrain_base
    from bench.tokenizer import build_char_tokenizer

    files = base_code_files()
    for builder in (pretrain_base, nll_backward, agg_loss, target_logprobs, tokenize_demos, build_char_tokenizer):
        assert Path(inspect.getsourcefile(builder)) in files, builder.__name__
    # one changed character in one of those files gives another key (so another cache directory)
    copies = []
    for i, path in enumerate(files):
        copies.append(tmp_path / f"{i}.py")
        copies[-1].write_bytes(path.read_bytes())
    before = source_digest(copies)
    assert before == source_digest(files)
    copies[2].write_bytes(copies[2].read_bytes().replace(b"-", b"+", 1))
    assert source_digest(copies) != before
