"""Shared plumbing of the seeded synthetic tasks: disjoint, reproducible splits."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Collection

from evaluators.types import Example

SPLITS = ("train", "test")


def is_test_question(question: str, test_fraction: float = 0.2) -> bool:
    """Split by a hash of the question text: a question is in exactly one split."""
    digest = int(hashlib.sha256(question.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < test_fraction


def generate_split(
    make_example: Callable[[random.Random, str], Example],
    *,
    task: str,
    difficulty: str,
    difficulties: Collection[str],
    split: str,
    size: int,
    seed: int,
) -> list[Example]:
    """`size` distinct examples of `split`, drawn by `make_example(rng, id)`.

    The draw depends only on (task, difficulty, split, seed), so every run, process
    and machine sees the same problems; train and test never share a question.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
    if difficulty not in difficulties:
        raise ValueError(f"{task} has no difficulty {difficulty!r}; it has: {', '.join(difficulties)}")
    rng = random.Random(f"{task}/{difficulty}/{split}/{seed}")
    seen: set[str] = set()
    examples: list[Example] = []
    attempts = 0
    while len(examples) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"{task}/{difficulty} cannot produce {size} distinct {split} problems")
        example = make_example(rng, f"{task}-{difficulty}-{split}-{len(examples)}")
        if example.prompt in seen or is_test_question(example.prompt) != (split == "test"):
            continue
        seen.add(example.prompt)
        examples.append(example)
    return examples
