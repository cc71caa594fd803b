"""Which test problems an evaluation uses: all of them, or `count` chosen without bias.

A test set ordered by subject (the Hendrycks MATH subjects are concatenated) must not
be cut to its first `count` rows, which would evaluate algebra alone; when the rows
span several `meta["subject"]` values, a partial set is a seeded uniform sample over
all rows, kept in file order. A single-subject set keeps its first `count` rows, as
lm-eval's `--limit` does.
"""

from __future__ import annotations

import random

from evaluators.types import Example

ALL = "all"


def select_problems(examples: list[Example], count: int | str, seed: int) -> list[Example]:
    """`count` problems of `examples` ("all" = every one); the same seed, the same problems."""
    if count == ALL or count >= len(examples):
        return list(examples)
    if len({example.meta.get("subject") for example in examples}) <= 1:
        return examples[:count]
    chosen = sorted(random.Random(seed).sample(range(len(examples)), count))
    return [examples[i] for i in chosen]


def check_count(count: object) -> str | None:
    """Why `count` is not a problem count, or None when it is one."""
    if count == ALL or (isinstance(count, int) and not isinstance(count, bool) and count >= 1):
        return None
    return f"must be an integer >= 1 or '{ALL}', got {count!r}"
