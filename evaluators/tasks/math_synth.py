"""`math_synth`: seeded fraction arithmetic in MATH's schema, graded like MATH.

Rows carry MATH-500's fields (`problem`, `solution` ending in `\\boxed{}`, `answer`)
and go through the `math` task's row conversion and grader. The gold `answer` is
written in a varying form (`\\frac{3}{2}`, `\\dfrac{3}{2}`, `3/2`, `1.5`) while
demos always box `\\frac{3}{2}`, so credit needs mathematical equivalence, not
string match. Values are exact (`fractions.Fraction`); nothing is `eval`ed.
Easy: two operands (integers up to 20, proper fractions with denominators up to
10) joined by +, - or *. Hard: four smaller operands, at least one of them a
power, in a random expression tree (so parentheses appear); problems whose
numbers outgrow MAX_PART are redrawn, keeping the worked solutions short.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any

from evaluators.grading import math as math_grading
from evaluators.tasks import math as math_task
from evaluators.tasks import register_task
from evaluators.tasks.prompting import synthetic_prompt
from evaluators.tasks.synthetic import generate_split
from evaluators.types import Example, Score


@dataclass(frozen=True)
class Level:
    operands: int
    largest_integer: int
    largest_denominator: int
    powers: bool  # at least one operand is a power (a small base squared or cubed)


LEVELS = {"easy": Level(2, 20, 10, powers=False), "hard": Level(4, 9, 6, powers=True)}
OPERATORS = {"+": 1, "-": 1, "*": 2}  # operator -> binding strength
LITERAL, POWER, ATOM = 2, 3, 4  # binding strength of `a/b`, `x^n`, a plain integer
MAX_PART = 1000  # problems with a larger numerator or denominator anywhere are redrawn


@dataclass(frozen=True)
class Term:
    """A sub-expression: how the problem writes it, its exact value, how tightly it binds."""

    text: str
    value: Fraction
    strength: int


def show(value: Fraction) -> str:
    """A value as a step writes it: `5`, `5/6`, `-5/6`."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def operand(value: Fraction) -> str:
    """A value as an operand in a step, a negative one bracketed: `(-5/6)`."""
    return f"({show(value)})" if value < 0 else show(value)


def boxed_latex(value: Fraction) -> str:
    """The demo's answer form, MATH's usual `\\frac{p}{q}`."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def gold_forms(value: Fraction) -> list[str]:
    """Every way the gold may be written; the decimal only when it terminates."""
    if value.denominator == 1:
        return [str(value.numerator)]
    sign, p, q = ("-" if value < 0 else ""), abs(value.numerator), value.denominator
    forms = [f"{sign}\\frac{{{p}}}{{{q}}}", f"{sign}\\dfrac{{{p}}}{{{q}}}", f"{sign}{p}/{q}"]
    if q == 2 ** _multiplicity(q, 2) * 5 ** _multiplicity(q, 5):
        forms.append(sign + format(Decimal(p) / Decimal(q), "f"))  # exact: q divides a power of 10
    return forms


def _multiplicity(n: int, prime: int) -> int:
    count = 0
    while n % prime == 0:
        n, count = n // prime, count + 1
    return count


def leaf(rng: random.Random, level: Level) -> Term:
    """A positive integer (40%) or a proper fraction."""
    if rng.random() < 0.4:
        n = rng.randint(1, level.largest_integer)
        return Term(str(n), Fraction(n), ATOM)
    return fraction(rng, level.largest_denominator)


def fraction(rng: random.Random, largest_denominator: int) -> Term:
    """A proper fraction in lowest terms, written `n/d`."""
    while True:
        d = rng.randint(2, largest_denominator)
        n = rng.randint(1, d - 1)
        if gcd(n, d) == 1:
            return Term(f"{n}/{d}", Fraction(n, d), LITERAL)


def power(rng: random.Random, steps: list[str]) -> Term:
    """`2^2` .. `5^3`, or a small fraction squared: `(3/4)^2`."""
    if rng.random() < 0.5:
        base, exponent = fraction(rng, 4), 2
    else:
        n = rng.randint(2, 5)
        base, exponent = Term(str(n), Fraction(n), ATOM), rng.randint(2, 3)
    value = base.value**exponent
    text = base.text if base.strength == ATOM else f"({base.text})"
    steps.append(f"{text}^{exponent}={show(value)}")
    return Term(f"{text}^{exponent}", value, POWER)


def combine(op: str, left: Term, right: Term, steps: list[str]) -> Term:
    """`left op right`, bracketing a side only where precedence demands it."""
    strength = OPERATORS[op]
    value = {"+": left.value + right.value, "-": left.value - right.value, "*": left.value * right.value}[op]
    left_text = f"({left.text})" if left.strength < strength else left.text
    right_bracket = right.strength < strength or (op == "-" and right.strength == strength)
    right_text = f"({right.text})" if right_bracket else right.text
    steps.append(f"{operand(left.value)}{op}{operand(right.value)}={show(value)}")
    return Term(f"{left_text} {op} {right_text}", value, strength)


def expression(rng: random.Random, leaves: list[Term], steps: list[str]) -> Term:
    """A random binary tree over `leaves`, evaluated bottom-up into `steps`."""
    if len(leaves) == 1:
        return leaves[0]
    cut = rng.randint(1, len(leaves) - 1)
    left = expression(rng, leaves[:cut], steps)
    right = expression(rng, leaves[cut:], steps)
    return combine(rng.choice(list(OPERATORS)), left, right, steps)


def draw(rng: random.Random, level: Level) -> tuple[Term, list[str]]:
    """A random expression and its worked steps, redrawn until its numbers stay small."""
    while True:
        steps: list[str] = []
        powered = {rng.randrange(level.operands)} if level.powers else set()
        leaves = [
            power(rng, steps) if i in powered else leaf(rng, level)
            for i in range(level.operands)
        ]
        result = expression(rng, leaves, steps)
        if max(int(number) for number in re.findall(r"\d+", "\n".join(steps))) <= MAX_PART:
            return result, steps


def make_problem(rng: random.Random, example_id: str, difficulty: str) -> Example:
    """One problem as a MATH-500 row, read back through the `math` task's conversion."""
    result, steps = draw(rng, LEVELS[difficulty])
    row = {
        "problem": f"Compute {result.text}.",
        "solution": "\n".join(steps) + f"\n\\boxed{{{boxed_latex(result.value)}}}",
        "answer": rng.choice(gold_forms(result.value)),
        "subject": "Prealgebra",
        "level": 1 if difficulty == "easy" else 3,
        "unique_id": example_id,
    }
    example = math_task.to_example(row, example_id)
    meta = {**example.meta, "difficulty": difficulty, "exact": show(result.value)}
    return dataclasses.replace(example, meta=meta)


@register_task("math_synth")
@dataclass
class MATHSynth:
    """Synthetic MATH twin; `difficulty` picks the easy or the hard split."""

    difficulty: str = "easy"
    train_size: int = 4000  # the easy split has about 6,000 distinct train problems
    test_size: int = 500
    seed: int = 0
    name: str = "math_synth"
    version: str = "1"

    def load(self, split: str) -> list[Example]:
        size = self.train_size if split == "train" else self.test_size
        return generate_split(
            lambda rng, i: make_problem(rng, i, self.difficulty),
            task=self.name, difficulty=self.difficulty, difficulties=LEVELS, split=split, size=size, seed=self.seed,
        )

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        return synthetic_prompt(example.prompt, math_grading.INSTRUCTION, tokenizer)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        return math_grading.score(completion, gold)
