"""The small typed records every task, scorer and metric agrees on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Example:
    """One problem.

    `answer` is the dataset's gold field exactly as stored (GSM8K text ending in
    `#### N`, MATH `answer`, HotpotQA `answer`); `demo` is the offline reasoning
    trace that SFT, ReLIFT and SuperRL learn from, or None when the dataset has none.
    """

    id: str
    prompt: str  # the question text, before any template
    answer: str
    demo: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    """What a scorer says of one completion. `reward` trains, `correct` evaluates."""

    reward: float
    correct: bool
    extracted: str | None  # canonical answer the completion gave, None = no answer
    extra: dict[str, Any] = field(default_factory=dict)  # secondary columns (e.g. f1, strict)


class Task(Protocol):
    """A dataset, its prompt and its scorer: training reward and eval metric in one."""

    name: str
    version: str  # bumped whenever data, prompt or scoring changes

    def load(self, split: str) -> list[Example]: ...

    def format_prompt(self, example: Example, tokenizer: Any) -> str: ...

    def format_demo(self, example: Example) -> str:
        """The completion SFT trains on (the demo in the answer format the scorer reads)."""
        ...

    def score(self, completion: str, gold: str) -> Score: ...


def score_example(task: Task, completion: str, example: Example) -> Score:
    """`task.score(completion, example.answer)`, or the task's `score_example` when its scorer
    reads the whole row (a `jsonl` task's reward function does)."""
    scorer = getattr(task, "score_example", None)
    return scorer(completion, example) if scorer is not None else task.score(completion, example.answer)
