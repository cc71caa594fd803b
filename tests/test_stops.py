"""End of completion on a real Qwen-style checkpoint: stop ids, masks, stop strings, SFT demos."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from tokenizers import processors
from transformers import GenerationConfig

from algorithms.batch import tokenize_demos
from algorithms.context import TrainContext, TrainSettings
from algorithms.sft import demo_batch
from algorithms.stops import Stops, demo_end_id, end_of_turn_id, stop_token_ids
from bench.config import ModelConfig
from bench.models import load_policy
from bench.rollout.hf import HFEngine
from bench.rollout.types import Sampling
from evaluators.tasks import get_task
from evaluators.types import Example
from tests.qwen_checkpoint import train_tokenizer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def policy(qwen_checkpoint):
    return load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="float32"), CPU)


def chat_prompt(tokenizer, question: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)


def test_stop_ids_are_eos_generation_config_and_end_of_turn(policy):
    model, tokenizer = policy
    eos, im_end = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    assert tokenizer.pad_token_id == eos  # as Qwen base tokenizers: padding may look like a stop
    assert end_of_turn_id(tokenizer) == im_end == demo_end_id(tokenizer)
    assert stop_token_ids(tokenizer) == tuple(sorted({eos, im_end}))  # tokenizer + template alone
    assert stop_token_ids(tokenizer, model.generation_config) == tuple(sorted({eos, im_end}))
    tokenizer_without_template = type(tokenizer).from_pretrained(tokenizer.name_or_path, chat_template=None)
    tokenizer_without_template.chat_template = None
    assert stop_token_ids(tokenizer_without_template) == (eos,)  # eos alone: nothing else ends a plain completion


def head_that_ends_a_turn_at(model, tokenizer, prompt: str, k: int) -> torch.Tensor:
    """Untie the output head and point `<|im_end|>`'s row at the hidden state of greedy step `k`, orthogonal to steps < k.

    Its logit is then 0 before step k (the greedy path is unchanged: its winners score > 0)
    and huge at step k, so the real model emits `<|im_end|>` as its (k+1)-th token.
    """
    greedy = HFEngine(model, tokenizer, CPU, 8).generate([prompt], 1, Sampling(0, 1.0, k), seed=0).completion_ids[0]
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"] + greedy.tolist()])
    with torch.no_grad():
        hidden = model.model(input_ids=ids).last_hidden_state[0, -k - 1 :]  # the states that predict completion tokens 0..k
        earlier, target = hidden[:-1], hidden[-1]
        basis = torch.linalg.qr(earlier.T).Q  # [H, k] orthonormal span of steps 0..k-1
        direction = target - basis @ (basis.T @ target)
        model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
        model.lm_head.weight[tokenizer.convert_tokens_to_ids("<|im_end|>")] = 1e3 * direction / direction.norm() ** 2
    return greedy


@pytest.mark.parametrize("share_prefix", [True, False])
def test_a_completion_that_emits_im_end_stops_there_and_its_mask_ends_there(qwen_checkpoint, share_prefix):
    model, tokenizer = load_policy(ModelConfig(name="hf", path=str(qwen_checkpoint), dtype="float32"), CPU)
    prompt = chat_prompt(tokenizer, "What is 2 + 3?")
    before = head_that_ends_a_turn_at(model, tokenizer, prompt, k=3)
    im_end, pad = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.pad_token_id
    out = HFEngine(model, tokenizer, CPU, 8, share_prefix=share_prefix).generate([prompt], 2, Sampling(0, 1.0, 10), seed=0)
    for row in range(2):
        ids = out.completion_ids[row]
        assert ids[:3].tolist() == before.tolist() and int(ids[3]) == im_end  # stopped on the end of the turn...
        assert (ids[4:] == pad).all()  # ...not on eos, which only pads from there
        width = out.completion_ids.shape[1]  # the engines stop early once every row has stopped
        assert out.completion_mask[row].tolist() == [1.0] * 4 + [0.0] * (width - 4)  # the mask ends at (and includes) <|im_end|>
        assert out.texts[row] == tokenizer.decode(before)
        assert not out.truncated[row]
        assert float(out.logprobs[row, 4:].abs().sum()) == 0.0


def test_a_stop_string_ends_the_completion_at_the_token_that_completes_it(policy):
    model, tokenizer = policy
    prompt = chat_prompt(tokenizer, "Ann has 7 boxes with 6 pencils each. How many pencils?")
    for share_prefix in (True, False):  # the two paths draw differently: each is its own reference run
        engine = HFEngine(model, tokenizer, CPU, 8, share_prefix=share_prefix)
        free = engine.generate([prompt], 4, Sampling(1.0, 1.0, 12), seed=5)
        assert free.truncated.all()  # a random model runs to the length cap
        text = tokenizer.decode(free.completion_ids[0, 3:5])
        assert text.strip(), "pick a step whose text is visible"
        stops = Stops((tokenizer.eos_token_id,), (text,))
        out = engine.generate([prompt], 4, Sampling(1.0, 1.0, 12, stop=(text,)), seed=5)
        full = free.completion_ids[0]
        # the first t whose decoded prefix contains the stop string
        end = next(t + 1 for t in range(len(full)) if text in tokenizer.decode(full[: t + 1]))
        assert end <= 5 and int(out.completion_mask[0].sum()) == end
        assert out.completion_ids[0, :end].tolist() == full[:end].tolist()
        assert text not in out.texts[0] and tokenizer.decode(full[:end]).startswith(out.texts[0])
        assert not out.truncated[0]
        assert stops.lengths(full[None], tokenizer)[0].item() == end


def test_chat_demos_end_with_the_end_of_turn_token_and_padding_is_never_attended(policy):
    _, tokenizer = policy
    im_end, eos = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    prompts = [chat_prompt(tokenizer, "What is 2 + 3?"), chat_prompt(tokenizer, "What is 10 - 4, step by step?")]
    demos = ["2 + 3 = 5.\n#### 5", "10 - 4 = 6.\nSo the answer is 6.\n#### 6"]
    batch = tokenize_demos(tokenizer, prompts, demos, CPU)
    for row in range(2):
        real = int(batch.attention_mask[row].sum())
        assert int(batch.input_ids[row, real - 1]) == im_end  # the demo closes its turn
        scored = batch.target_mask[row].nonzero().squeeze(-1) + batch.target_start
        assert int(scored.max()) == real - 1  # ...and that token carries loss
        assert (batch.input_ids[row, real:] == eos).all() and (batch.attention_mask[row, real:] == 0).all()
        assert (batch.target_mask[row, real - batch.target_start :] == 0).all()  # padding (= eos) is never trained on


def test_sft_demos_of_a_chat_model_are_chat_prompts(policy):
    model, tokenizer = policy
    settings = TrainSettings(
        lr=1e-3, weight_decay=0.0, grad_clip=1.0, warmup_steps=0, micro_batch_size=2,
        mini_batch_prompts=1, temperature=1.0, max_new_tokens=8, steps=1,
    )
    task = get_task("gsm8k_synth")
    ctx = TrainContext(model, tokenizer, task, settings, CPU)
    question = Example(id="q", prompt="What is 2 + 3?", answer="#### 5", demo="2 + 3 = 5.\n#### 5")
    batch = demo_batch(ctx, [question])
    real = batch.input_ids[0][batch.attention_mask[0].bool()]
    assert tokenizer.decode(real).startswith(task.format_prompt(question, tokenizer))
    assert task.format_prompt(question, tokenizer).startswith("<|im_start|>")  # the template's turns, not `Q:`/`A:`


def test_lengths_end_at_each_rows_first_stop_token_or_string_and_flag_the_rest_truncated():
    tokenizer = train_tokenizer()
    eos, im_end, a, b, x, y = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "a", "b", "x", "y"])
    stops = Stops((eos, im_end), ("xy",))  # "xy" takes two tokens: the stop is the one that completes it
    tokens = torch.tensor(
        [
            [a, b, eos, a, im_end, b],  # a stop token at 3; the later one changes nothing
            [a, b, a, b, a, b],  # no stop: runs to the cap
            [a, x, y, b, x, y],  # the string completed by token 3; again at 6
            [im_end, a, b, a, b, a],  # a stop first
            [a, b, a, b, a, x],  # half the string at the end: no stop
        ]
    )
    lengths, truncated = stops.lengths(tokens, tokenizer)
    assert lengths.tolist() == [3, 6, 3, 1, 6]
    assert truncated.tolist() == [False, True, False, False, True]
    assert Stops((eos,)).lengths(tokens[2:3], tokenizer)[0].tolist() == [6]  # without the string, "xy" is text


def test_a_template_that_ends_turns_with_plain_text_has_no_end_of_turn_token():
    tokenizer = train_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n\n{% endfor %}"
    assert end_of_turn_id(tokenizer) is None  # "\n\n" is text, not a special token
    assert end_of_turn_id(SimpleNamespace()) is None  # a tokenizer class with no chat templates at all
    assert demo_end_id(tokenizer) == tokenizer.eos_token_id
    assert stop_token_ids(tokenizer) == (tokenizer.eos_token_id,)


def test_the_generation_configs_eos_ids_are_stops_too_as_a_list_or_one_id(policy):
    model, tokenizer = policy
    eos, im_end = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    extra = len(tokenizer) - 1  # an id neither the tokenizer nor the template ends on
    assert stop_token_ids(tokenizer, GenerationConfig(eos_token_id=[extra, eos])) == tuple(sorted({eos, im_end, extra}))
    assert stop_token_ids(tokenizer, GenerationConfig(eos_token_id=extra)) == tuple(sorted({eos, im_end, extra}))


def test_texts_are_cut_before_the_first_stop_string_even_at_the_start():
    stops = Stops((0,), ("###", "END"))
    assert stops.cut("12 END 3 ### 4 END") == "12 "
    assert stops.cut("### 4") == ""
    assert stops.cut("no stop here") == "no stop here"


def test_the_end_of_turn_token_under_a_template_that_checks_roles_and_a_tokenizer_that_adds_bos():
    """Mistral-style templates raise on roles they do not know, and Llama-style tokenizers put a BOS
    before any text they encode with special tokens: the probe asks only for user and assistant
    turns, and encodes the text after the assistant's content without special tokens."""
    tokenizer = train_tokenizer()
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
        "{{ raise_exception('roles are system, user or assistant') }}{% endif %}"
        "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    )
    bos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)]
    )
    assert tokenizer("x")["input_ids"][0] == bos  # the BOS is there unless special tokens are left out
    assert end_of_turn_id(tokenizer) == tokenizer.convert_tokens_to_ids("<|im_end|>")
