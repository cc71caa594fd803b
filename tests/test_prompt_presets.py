"""Prompt presets: each renders its published counterpart's prompt exactly, brings its stops, and is scored as it asks.

The strings are pinned by hand; where lm-evaluation-harness is installed, the same
prompts are also built by lm-eval itself from its own task files and compared.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from algorithms.stops import Stops
from bench import build
from evaluators.grading import gsm8k as gsm8k_grading
from evaluators.grading import hotpotqa as hotpotqa_grading
from evaluators.grading import math as math_grading
from evaluators.tasks import get_task
from evaluators.tasks.gsm8k_presets import COT_EXEMPLARS, ShotDraws
from evaluators.tasks.minerva_math import EXEMPLARS, final_answer
from evaluators.tasks.presets import preset_for
from tests.cli_helpers import REPO, bench, bench_env
from tests.conftest import SMOKE, compose_config

FIXTURES = Path(__file__).parent / "fixtures"
LM_EVAL = importlib.util.find_spec("lm_eval")
needs_lm_eval = pytest.mark.skipif(LM_EVAL is None, reason="lm-evaluation-harness is not installed")


def gsm8k_row(i: int) -> dict:
    return {"question": f"Tom has {i} apples and buys {i + 1} more. How many now?", "answer": f"{i}+{i + 1}=<<{i}+{i + 1}={2 * i + 1}>>{2 * i + 1}\n#### {2 * i + 1}"}


@pytest.fixture
def gsm8k_files(tmp_path: Path) -> Path:
    """12 train rows of our own in the GSM8K schema, and the fixture test split (its row 3 is malformed)."""
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(gsm8k_row(i)) + "\n" for i in range(12)))
    (tmp_path / "test.jsonl").write_text((FIXTURES / "gsm8k" / "test.jsonl").read_text())
    return tmp_path


@pytest.fixture(scope="module")
def chatml(qwen_checkpoint):
    return AutoTokenizer.from_pretrained(qwen_checkpoint)


# --- the embedded default ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, path, instruction",
    [("gsm8k", "gsm8k", gsm8k_grading.INSTRUCTION), ("math", "math500", math_grading.INSTRUCTION), ("hotpotqa", "hotpotqa", hotpotqa_grading.INSTRUCTION)],
)
def test_without_a_chat_template_the_real_tasks_keep_the_answer_instruction(name, path, instruction):
    task = get_task(name, path=str(FIXTURES / path))
    example = task.load("test")[0]
    assert task.format_prompt(example, tokenizer=None) == f"Q: {example.prompt}\n{instruction}\nA: "


@pytest.mark.parametrize("name", ["gsm8k_synth", "math_synth", "hotpotqa_synth"])
def test_the_synthetic_twins_keep_the_bare_prompt_the_tiny_base_learned(name):
    task = get_task(name, test_size=3)
    example = task.load("test")[0]
    assert task.format_prompt(example, tokenizer=None) == f"Q: {example.prompt}\nA: "


def test_chat_keeps_the_instruction_in_the_user_turn(chatml):
    task = get_task("math", path=str(FIXTURES / "math500"), prompt="chat")
    example = task.load("test")[0]
    assert task.format_prompt(example, chatml) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{example.prompt}\n{math_grading.INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n"
    )
    with pytest.raises(ValueError, match="chat template"):
        task.format_prompt(example, tokenizer=None)


# --- lm-eval gsm8k: 5 seeded shots from train ---------------------------------------------------------


def test_gsm8k_preset_renders_lm_evals_five_shot_prompt(gsm8k_files):
    task = get_task("gsm8k", path=str(gsm8k_files), prompt="gsm8k")
    first = task.load("test")[0]
    shots = [gsm8k_row(i) for i in (7, 1, 0, 10, 9)]  # Random(1234).sample(12 rows, 5), lm-eval's first draw
    expected = "".join(f"Question: {r['question']}\nAnswer: {r['answer']}\n\n" for r in shots) + f"Question: {first.prompt}\nAnswer:"
    assert task.format_prompt(first, tokenizer=None) == expected
    # the real GSM8K train split (7473 rows): lm-eval's first two test questions see these train rows
    draws = ShotDraws([{"row": i} for i in range(7473)], 5, same_split=False)
    assert [draws.for_document(i) for i in (0, 1)] == [[6374, 3610, 957, 61, 742], [7462, 6610, 4769, 286, 5501]]


def test_gsm8k_draws_follow_the_row_position_so_a_skipped_row_shifts_nothing(gsm8k_files):
    task = get_task("gsm8k", path=str(gsm8k_files), prompt="gsm8k")
    after_the_malformed_row = task.load("test")[3]
    assert after_the_malformed_row.id == "test-4"
    shots = [gsm8k_row(i) for i in (11, 1, 0, 8, 7)]  # draw 4: lm-eval counts the malformed row 3 as a document
    assert task.format_prompt(after_the_malformed_row, None).startswith(f"Question: {shots[0]['question']}\nAnswer: {shots[0]['answer']}\n\n")


def lm_eval_task(yaml_name: str, data_files: dict[str, str], **overrides):
    """An lm-eval task built from its own YAML, reading our local files in the same schema."""
    import yaml
    from lm_eval.api.task import ConfigurableTask

    config = yaml.safe_load((Path(LM_EVAL.origin).parent / "tasks" / "gsm8k" / yaml_name).read_text())
    config.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": data_files}, **overrides)
    task = ConfigurableTask(config=config)
    task.set_fewshot_seed(1234)  # as simple_evaluate does, with its default fewshot_random_seed
    return task


@needs_lm_eval
def test_gsm8k_preset_equals_the_prompts_lm_eval_builds(tmp_path):
    """A pool of the real train split's size, so `random.sample` takes the same branch as on GSM8K."""
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(gsm8k_row(i)) + "\n" for i in range(7473)))
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(gsm8k_row(1000 + i)) + "\n" for i in range(6)))
    reference = lm_eval_task("gsm8k.yaml", {"train": str(tmp_path / "train.jsonl"), "test": str(tmp_path / "test.jsonl")})
    expected = [reference.fewshot_context(doc, num_fewshot=5) for doc in reference.eval_docs]
    task = get_task("gsm8k", path=str(tmp_path), prompt="gsm8k")
    assert [task.format_prompt(e, None) for e in task.load("test")] == expected
    assert reference.config.generation_kwargs["until"] == list(preset_for("gsm8k", "gsm8k").stops_for("gsm8k"))


@needs_lm_eval
def test_gsm8k_preset_on_train_rows_drops_the_row_itself_as_lm_eval_does(gsm8k_files):
    train = str(gsm8k_files / "train.jsonl")
    reference = lm_eval_task("gsm8k.yaml", {"train": train}, test_split="train")
    expected = [reference.fewshot_context(doc, num_fewshot=5) for doc in reference.eval_docs]
    task = get_task("gsm8k", path=str(gsm8k_files), prompt="gsm8k")
    prompts = [task.format_prompt(e, None) for e in task.load("train")]
    assert prompts == expected
    assert all(prompt.count(e.prompt) == 1 for prompt, e in zip(prompts, task.load("train")))


# --- lm-eval gsm8k_cot: 8 fixed exemplars ------------------------------------------------------------------


def test_gsm8k_cot_preset_renders_the_eight_exemplars():
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"), prompt="gsm8k_cot")
    example = task.load("test")[0]
    prompt = task.format_prompt(example, None)
    assert len(COT_EXEMPLARS) == 8
    assert prompt.startswith(
        "Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, "
        "there will be 21 trees. How many trees did the grove workers plant today?\nA: There are 15 trees originally. "
        "Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.\n\n"
        "Q: If there are 3 cars in the parking lot"
    )
    assert prompt.endswith(f"23 - 15 is 8. The answer is 8.\n\nQ: {example.prompt}\nA:")
    assert prompt.count("\n\nQ: ") == 8


@needs_lm_eval
def test_gsm8k_cot_preset_equals_the_prompt_lm_eval_builds():
    test = str(FIXTURES / "gsm8k" / "test.jsonl")
    reference = lm_eval_task("gsm8k-cot.yaml", {"test": test})
    expected = [reference.fewshot_context(doc, num_fewshot=8) for doc in reference.eval_docs]
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"), prompt="gsm8k_cot")
    assert [task.format_prompt(e, None) for e in task.load("test")] == [expected[0], expected[1], expected[2], expected[4]]
    assert reference.config.generation_kwargs["until"] == list(preset_for("gsm8k", "gsm8k_cot").stops_for("gsm8k"))


def test_gsm8k_cot_reads_the_answer_is_n():
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"), prompt="gsm8k_cot")
    gold = "3 * 6 = 18\n#### 18"
    right = task.score("She has 3 * 6 = 18 eggs. The answer is 18.", gold)
    assert right.correct and right.extracted == "18" and right.extra == {"strict": True, "flexible": True}
    assert not task.score("3 * 6 = 18\n#### 18 and then 4", gold).correct  # `#### N` is not what this preset asks for
    assert task.score("The answer is 1,018.", "#### 1018").correct
    flexible = get_task("gsm8k", path=str(FIXTURES / "gsm8k"), prompt="gsm8k_cot", match="flexible")
    assert flexible.score("so 18 eggs", gold).correct and not task.score("so 18 eggs", gold).correct
    for example in task.load("test"):
        assert task.score(task.format_demo(example), example.answer).correct, example.id


def test_gsm8k_preset_demos_and_scoring_stay_hash_n(gsm8k_files):
    task = get_task("gsm8k", path=str(gsm8k_files), prompt="gsm8k")
    for example in task.load("test"):
        demo = task.format_demo(example)
        assert demo == " " + example.answer  # lm-eval's target delimiter, then the answer field
        assert task.score(demo, example.answer).correct


# --- lm-eval minerva_math: 4 fixed exemplars ------------------------------------------------------------


def test_minerva_preset_renders_the_four_exemplars():
    task = get_task("math", path=str(FIXTURES / "math500"), prompt="minerva_math")
    example = task.load("test")[0]
    prompt = task.format_prompt(example, None)
    assert len(EXEMPLARS) == 4
    assert prompt.startswith(
        "Problem:\nFind the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.\n\nSolution: "
        "The expressions inside each square root must be non-negative."
    )
    assert prompt.endswith(
        "Final Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.\n\n" f"Problem:\n{example.prompt}\n\nSolution:"
    )
    assert prompt.count("I hope it is correct.\n\nProblem:\n") == 4


def lm_eval_minerva_functions() -> dict:
    """`doc_to_text`, `list_fewshot_samples` and `get_unnormalized_answer` from lm-eval's minerva utils.py.

    Importing that module asserts antlr4 4.11 (its sympy LaTeX parser), which math-verify's
    pinned antlr4 excludes, so the three functions are compiled from its source alone.
    """
    path = Path(LM_EVAL.origin).parent / "tasks" / "minerva_math" / "utils.py"
    wanted = ("doc_to_text", "list_fewshot_samples", "get_unnormalized_answer")
    functions = [node for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef) and node.name in wanted]
    namespace: dict = {"re": re}
    exec(compile(ast.Module(functions, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


@needs_lm_eval
def test_minerva_preset_equals_the_prompt_lm_eval_builds():
    import yaml
    from lm_eval.api.task import ConfigurableTask

    minerva = lm_eval_minerva_functions()
    config = yaml.safe_load((Path(LM_EVAL.origin).parent / "tasks" / "minerva_math" / "minerva_math_algebra.yaml").read_text().replace("!function ", ""))
    config.update(
        task="minerva_math500_fixture", dataset_path="json", dataset_name=None, training_split=None,
        dataset_kwargs={"data_files": {"test": str(FIXTURES / "math500" / "test.jsonl")}},
        doc_to_text=minerva["doc_to_text"], process_docs=None, process_results=None, metric_list=None,
        fewshot_config={"sampler": "first_n", "samples": minerva["list_fewshot_samples"]},
    )
    reference = ConfigurableTask(config=config)
    reference.set_fewshot_seed(1234)
    by_problem = {doc["problem"]: reference.fewshot_context(doc, num_fewshot=4) for doc in reference.eval_docs}
    task = get_task("math", path=str(FIXTURES / "math500"), prompt="minerva_math")
    for example in task.load("test"):
        assert task.format_prompt(example, None) == by_problem[example.prompt]
    assert config["generation_kwargs"]["until"] == ["Problem:"] == list(preset_for("math", "minerva_math").stops_for("math"))
    completions = (
        "x.\nFinal Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.",
        "Final Answer: The final answer is $7$",  # without the closing words lm-eval reads no line (our score falls back to a box)
        "Final Answer: The final answer is $7$.",
        "The answer is $7$.",
    )
    for completion in completions:
        theirs = minerva["get_unnormalized_answer"](completion)
        assert final_answer(completion) == (None if theirs == "[invalidanswer]" else theirs.strip("$")), completion


def test_minerva_reads_the_final_answer_line_then_the_box():
    task = get_task("math", path=str(FIXTURES / "math500"), prompt="minerva_math")
    line = "We get $x = \\boxed{3}$.\nFinal Answer: The final answer is $\\frac{1}{2}$. I hope it is correct."
    assert task.score(line, "\\frac12").correct  # the line wins over an earlier box, as lm-eval's exact_match reads it
    assert task.score("Final Answer: The final answer is $0.5$. I hope it is correct.", "\\frac{1}{2}").correct
    assert task.score("So the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}").correct  # no line: the box
    assert not task.score("Final Answer: The final answer is $2$. I hope it is correct.", "\\frac{1}{2}").correct
    assert not task.score("I do not know.", "\\frac{1}{2}").correct
    for example in task.load("test"):
        demo = task.format_demo(example)
        assert demo.endswith(f"Final Answer: The final answer is ${example.answer}$. I hope it is correct.")
        assert task.score(demo, example.answer).correct, example.id


# --- fit, config, stops, results --------------------------------------------------------------------------


def test_a_preset_that_does_not_fit_the_task_fails_at_config_time_naming_the_allowed_ones():
    cfg = compose_config(["dataset=gsm8k", "dataset.prompt=minerva_math"])
    with pytest.raises(build.ConfigError, match=r"dataset.prompt='minerva_math'.*gsm8k.*allowed presets: default, chat, gsm8k, gsm8k_cot"):
        build.check_config(cfg)
    with pytest.raises(build.ConfigError, match=r"allowed presets: default$"):
        build.check_config(compose_config(["dataset=gsm8k_synth", "dataset.prompt=gsm8k"]))
    with pytest.raises(ValueError, match="allowed presets: default, chat$"):
        get_task("hotpotqa", prompt="gsm8k_cot")
    with pytest.raises(ValueError, match="few_shot=2 only applies to dataset.prompt=default"):
        get_task("gsm8k", prompt="gsm8k", few_shot=2)


def test_a_training_run_refuses_a_preset_that_does_not_fit_before_any_work(tmp_path):
    result = bench("dataset=math", "dataset.prompt=gsm8k_cot", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert "dataset.prompt='gsm8k_cot' does not fit dataset 'math'; allowed presets: default, chat, minerva_math" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "checkpoints").exists()


def test_a_presets_stops_join_rollout_stop_and_end_the_completion(chatml):
    cfg = compose_config(["dataset=gsm8k", "dataset.prompt=gsm8k", "rollout.stop=[STOP,Question:]"])
    build.check_config(cfg)
    for sampling in (build.rollout_sampling(cfg), build.eval_sampling(cfg)):
        assert sampling.stop == ("STOP", "Question:", "</s>", "<|im_end|>")
    assert build.eval_sampling(compose_config(["dataset=math"])).stop == ("\nQ:",)  # the default's plain `Q:`/`A:`: no invented next question
    assert build.eval_sampling(compose_config(["dataset=math_synth"])).stop == ()  # the synthetic twins stop as the tiny base always has
    text = " 3 * 6 = 18\n#### 18\n\nQuestion: Bob has"
    tokens = torch.tensor([chatml(text, add_special_tokens=False)["input_ids"]])
    stops = Stops((chatml.eos_token_id,), build.eval_sampling(cfg).stop)
    lengths, truncated = stops.lengths(tokens, chatml)
    kept = chatml.decode(tokens[0, : lengths[0]])
    assert kept.endswith("Question:") and "Bob" not in kept and not truncated[0]  # the invented next question is never scored
    assert stops.texts(tokens, lengths, chatml) == [" 3 * 6 = 18\n#### 18\n\n"]


def test_an_eval_run_uses_the_preset_and_eval_json_names_it(tmp_path, gsm8k_files, qwen_checkpoint):
    command = [sys.executable, "-m", "bench.eval", *SMOKE, "model=hf", f"model.path={qwen_checkpoint}", "dataset=gsm8k",
               f"dataset.path={gsm8k_files}", "dataset.prompt=gsm8k", "eval.problems=2", f"hydra.run.dir={tmp_path / 'run'}"]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert report["prompt"] == "gsm8k" and report["config"]["dataset"]["prompt"] == "gsm8k"
    task = get_task("gsm8k", path=str(gsm8k_files), prompt="gsm8k")
    expected = [task.format_prompt(e, None) for e in task.load("test")[:2]]
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert [sample["prompt"] for sample in samples] == expected
    assert not any("Question:" in completion for sample in samples for completion in sample["completions"])
