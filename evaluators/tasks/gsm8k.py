"""`gsm8k`: grade-school math word problems (`openai/gsm8k`, config `main`).

The gold is the number after `####` in the `answer` field, which is also the demo
(the worked solution, calculator annotations included). Rows whose gold has no
parsable `#### N` are skipped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluators.grading import gsm8k as gsm8k_grading
from evaluators.tasks import register_task
from evaluators.tasks.loading import HubDataset, MalformedRow, Row, check_few_shot, require_text, to_examples
from evaluators.tasks.prompting import build_prompt
from evaluators.types import Example, Score

SOURCE = HubDataset("openai/gsm8k", "main", {"train": "train", "test": "test"})


def to_example(row: Row, example_id: str) -> Example:
    """One GSM8K row (`question`, `answer`) as an Example; MalformedRow if unusable."""
    question, answer = require_text(row, "question", "answer")
    try:
        gold = gsm8k_grading.gold_number(answer)
    except ValueError as err:
        raise MalformedRow(str(err)) from err
    return Example(id=example_id, prompt=question, answer=answer, demo=answer, meta={"gold": gold})


@register_task("gsm8k")
@dataclass
class GSM8K:
    """GSM8K from the hub or from local files in its schema (`path`)."""

    path: str | None = None  # local .jsonl/.parquet file or directory of <split> files
    revision: str | None = None  # hub revision (commit, tag or branch)
    limit: int | None = None  # first N rows of each split
    few_shot: int = 0  # first k train examples shown before each question
    match: str = "strict"  # GSM8K extraction: strict (#### N) | flexible (last number)
    name: str = "gsm8k"
    version: str = "1"
    # per split: (row id, reason) of each malformed row that load() skipped
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _shots: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_few_shot(self.name, self.few_shot, "train" in SOURCE.splits)

    def load(self, split: str) -> list[Example]:
        examples, self.skipped[split] = self._examples(split, self.limit)
        return examples

    def _examples(self, split: str, limit: int | None) -> tuple[list[Example], list[tuple[str, str]]]:
        rows = SOURCE.rows(split, path=self.path, revision=self.revision, limit=limit)
        return to_examples(rows, to_example, lambda _, index: f"{split}-{index}", where=f"{self.name}/{split}")

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        if self._shots is None:
            shots = self._examples("train", self.few_shot)[0] if self.few_shot else []
            self._shots = [(shot.prompt, self.format_demo(shot)) for shot in shots]
        return build_prompt(example.prompt, gsm8k_grading.INSTRUCTION, tokenizer, self._shots)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        return gsm8k_grading.score(completion, gold, self.match)
