"""Synthetic twins: reproducible, disjoint, learnable demos, and graded by the real scorers."""

from __future__ import annotations

import ast
import string
from fractions import Fraction

import pytest

from evaluators.tasks import get_task
from evaluators.tasks.math_synth import gold_forms
from evaluators.types import Example

SYNTH = ["math_synth", "hotpotqa_synth"]
CASES = [(name, difficulty) for name in SYNTH for difficulty in ("easy", "hard")] + [("hotpotqa_synth", "sparse")]
ALPHABET = set(string.printable[:95]) | {"\n"}  # the tiny model's characters
SIZES = {"train_size": 300, "test_size": 40}


def load(name: str, difficulty: str, split: str) -> list[Example]:
    return get_task(name, difficulty=difficulty, **SIZES).load(split)


@pytest.mark.parametrize(("name", "difficulty"), CASES)
def test_splits_are_deterministic_and_disjoint(name: str, difficulty: str) -> None:
    train, test = load(name, difficulty, "train"), load(name, difficulty, "test")
    assert train == load(name, difficulty, "train") and test == load(name, difficulty, "test")
    assert len({e.prompt for e in train}) == len(train) == SIZES["train_size"]
    assert not {e.prompt for e in train} & {e.prompt for e in test}
    other_seed = get_task(name, difficulty=difficulty, seed=1, **SIZES).load("test")
    assert [e.prompt for e in other_seed] != [e.prompt for e in test]


@pytest.mark.parametrize(("name", "difficulty"), CASES)
def test_demos_score_one_through_the_real_scorer(name: str, difficulty: str) -> None:
    task = get_task(name, difficulty=difficulty, **SIZES)
    for example in task.load("test"):
        score = task.score(task.format_demo(example), example.answer)
        assert score.reward == 1.0 and score.correct, (example.demo, example.answer)


@pytest.mark.parametrize(("name", "difficulty"), CASES)
def test_only_printable_ascii(name: str, difficulty: str) -> None:
    task = get_task(name, difficulty=difficulty, **SIZES)
    for example in task.load("train") + task.load("test"):
        text = task.format_prompt(example, tokenizer=None) + task.format_demo(example) + example.answer
        assert set(text) <= ALPHABET, set(text) - ALPHABET


@pytest.mark.parametrize("name", SYNTH)
def test_easy_fits_the_tiny_models_budget(name: str) -> None:
    examples = load(name, "easy", "train")
    assert max(len(e.prompt) for e in examples) < 200
    assert max(len(e.demo or "") for e in examples) < 70


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_math_gold_forms_vary_and_every_equal_form_is_accepted(difficulty: str) -> None:
    task = get_task("math_synth", difficulty=difficulty, **SIZES)
    examples = task.load("test")
    assert len({_form(e.answer) for e in examples}) >= 3
    fractional = [e for e in examples if Fraction(e.meta["exact"]).denominator != 1][:8]
    assert fractional
    for example in fractional:
        value = Fraction(example.meta["exact"])
        for gold in gold_forms(value):
            assert task.score(task.format_demo(example), gold).correct, (example.demo, gold)
            assert task.score(f"so \\boxed{{{gold}}}", example.answer).correct, (gold, example.answer)
        assert not task.score(f"\\boxed{{{value + 1}}}", example.answer).correct


def test_math_gold_forms_are_exact() -> None:
    assert gold_forms(Fraction(-3, 2)) == ["-\\frac{3}{2}", "-\\dfrac{3}{2}", "-3/2", "-1.5"]
    assert gold_forms(Fraction(1, 3)) == ["\\frac{1}{3}", "\\dfrac{1}{3}", "1/3"]
    assert gold_forms(Fraction(7)) == ["7"]


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_math_problem_text_means_its_gold(difficulty: str) -> None:
    """Parse each problem independently (standard precedence, `^` as power) and compare."""
    examples = load("math_synth", difficulty, "train")
    for example in examples:
        expression = example.prompt.removeprefix("Compute ").removesuffix(".").replace("^", "**")
        assert _exact(ast.parse(expression, mode="eval").body) == Fraction(example.meta["exact"]), example.prompt
    if difficulty == "hard":
        assert all("^" in e.prompt for e in examples) and any("(" in e.prompt for e in examples)


def test_hotpotqa_synth_rows_follow_the_schema() -> None:
    easy, sparse, hard = (load("hotpotqa_synth", difficulty, "test") for difficulty in ("easy", "sparse", "hard"))
    for examples, hops, paragraphs in [(easy, 2, 4), (sparse, 2, 7), (hard, 3, 7)]:
        for example in examples:
            lines = example.prompt.splitlines()
            assert len(lines) == paragraphs + 1 and lines[-1].startswith("Question: ")
            facts = example.demo.splitlines()[0]
            assert facts.count(".") == hops and all(fact in example.prompt for fact in facts.split(". "))
            assert example.demo.endswith(f"\nAnswer: {example.answer}")


def _form(answer: str) -> str:
    """Which written form a gold uses (checked in this order)."""
    return next((form for form in ("dfrac", "frac", "/", ".") if form in answer), "int")


def _exact(node: ast.expr) -> Fraction:
    """A whitelisted AST walk over +, -, *, /, ** and integers: nothing is evaluated as code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Fraction(node.value)
    if isinstance(node, ast.BinOp):
        left, right = _exact(node.left), _exact(node.right)
        operations = {
            ast.Add: lambda: left + right,
            ast.Sub: lambda: left - right,
            ast.Mult: lambda: left * right,
            ast.Div: lambda: left / right,
            ast.Pow: lambda: left ** int(right),
        }
        return operations[type(node.op)]()
    raise AssertionError(f"unexpected syntax {ast.dump(node)}")


@pytest.mark.parametrize(("name", "difficulty"), [("gsm8k_synth", "sparse"), ("math_synth", "medium")])
def test_a_difficulty_the_task_lacks_is_refused_naming_the_ones_it_has(name: str, difficulty: str) -> None:
    with pytest.raises(ValueError, match=f"{name} has no difficulty '{difficulty}'; it has: easy, hard"):
        load(name, difficulty, "train")
