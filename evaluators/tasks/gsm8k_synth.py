"""`gsm8k_synth`: seeded multi-step arithmetic word problems in GSM8K's schema.

Rows look like GSM8K (`question`, `answer` = worked solution ending in `#### N`)
and are scored by the same GSM8K grader. Easy: three-term addition of numbers up to 10 (dense
reward for the tiny base). Hard: five operands up to 99 with subtraction (beyond the tiny base: README "The sparse-reward split").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from evaluators.grading import gsm8k
from evaluators.tasks import register_task
from evaluators.tasks.prompting import synthetic_prompt
from evaluators.tasks.synthetic import generate_split
from evaluators.types import Example, Score

NAMES = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo"]
ITEMS = ["apples", "pens", "coins", "cards", "books", "shells", "stamps", "eggs"]
GAINS = ["buys", "finds", "gets", "wins"]
LOSSES = ["gives away", "loses", "sells", "uses"]
LEVELS = {"easy": (3, 10, False), "hard": (5, 99, True)}  # (operands, largest operand, subtraction?)


def make_problem(rng: random.Random, example_id: str, difficulty: str) -> Example:
    operands, largest, subtract = LEVELS[difficulty]
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start = total = rng.randint(1, largest)
    actions, steps = [], []
    for _ in range(operands - 1):
        amount = rng.randint(1, largest)
        if subtract and amount <= total and rng.random() < 0.5:
            actions.append(f"{rng.choice(LOSSES)} {amount}")
            steps.append(f"{total}-{amount}={total - amount}")
            total -= amount
        else:
            actions.append(f"{rng.choice(GAINS)} {amount}")
            steps.append(f"{total}+{amount}={total + amount}")
            total += amount
    question = f"{name} has {start} {item}, {', '.join(actions[:-1])}, then {actions[-1]}. How many {item} now?"
    answer = "\n".join(steps) + f"\n#### {total}"
    return Example(id=example_id, prompt=question, answer=answer, demo=answer, meta={"difficulty": difficulty})


@register_task("gsm8k_synth")
@dataclass
class GSM8KSynth:
    """Synthetic GSM8K twin; `difficulty` picks the easy or the hard split."""

    difficulty: str = "easy"
    train_size: int = 20000
    test_size: int = 500
    seed: int = 0
    match: str = "strict"
    name: str = "gsm8k_synth"
    version: str = "1"

    def load(self, split: str) -> list[Example]:
        size = self.train_size if split == "train" else self.test_size
        return generate_split(
            lambda rng, i: make_problem(rng, i, self.difficulty),
            task=self.name, difficulty=self.difficulty, difficulties=LEVELS, split=split, size=size, seed=self.seed,
        )

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        return synthetic_prompt(example.prompt, gsm8k.INSTRUCTION, tokenizer)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        return gsm8k.score(completion, gold, self.match)
