"""`jsonl`: your own dataset and reward, no code in this repository.

Rows come from `path` (a `.jsonl`/`.parquet` file used for every split, or a directory
of `<split>.jsonl` / `<split>.parquet`); the field names are options. The reward is
your function, `reward(completion, row)` -> `(reward, correct)`, `(reward, correct,
extracted)` or a `Score` (`extracted` is the answer majority voting counts; None
abstains). It is named `module:function` or `path/to/file.py:function`
(`dataset.reward=`), as verl's `custom_reward_function.path` and TRL's reward callables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evaluators.tasks import register_task
from evaluators.tasks.loading import MalformedRow, Row, load_rows, require_text, to_examples
from evaluators.tasks.prompting import build_prompt
from evaluators.types import Example, Score


@register_task("jsonl")
@dataclass
class JSONLTask:
    """Rows of your own files, scored by your own function."""

    path: str  # a .jsonl/.parquet file (every split) or a directory of <split>.jsonl/.parquet
    reward: Callable[[str, Row], Any]  # reward(completion, row) -> (reward, correct[, extracted]) or Score
    prompt_field: str = "prompt"  # the question text
    answer_field: str = "answer"  # the gold, as stored (the reward function reads the whole row anyway)
    id_field: str | None = "id"  # row id (None or missing: <split>-<index>)
    demo_field: str | None = None  # a worked solution for SFT, ReLIFT and SuperRL (None: no demos)
    instruction: str = ""  # told after each question (how to format the answer)
    limit: int | None = None  # first N rows of each split
    name: str = "jsonl"
    version: str = "1"
    # per split: (row id, reason) of each malformed row that load() skipped
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def load(self, split: str) -> list[Example]:
        rows = load_rows("", None, split, path=self.path, limit=self.limit)
        examples, self.skipped[split] = to_examples(rows, self._example, lambda row, i: self._row_id(row, i, split), where=f"{self.name}/{split}")
        return examples

    def _row_id(self, row: Row, index: int, split: str) -> str:
        return str(row.get(self.id_field) or f"{split}-{index}") if self.id_field else f"{split}-{index}"

    def _example(self, row: Row, example_id: str) -> Example:
        prompt, answer = require_text(row, self.prompt_field, self.answer_field)
        demo = row.get(self.demo_field) if self.demo_field else None
        if self.demo_field and not isinstance(demo, str):
            raise MalformedRow(f"missing or non-text field {self.demo_field!r}")
        return Example(id=example_id, prompt=prompt, answer=answer, demo=demo, meta={"row": row})

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        return build_prompt(example.prompt, self.instruction, tokenizer)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        """The reward function sees only the answer field here; evaluation and training pass the row."""
        return self.score_row(completion, {self.answer_field: gold})

    def score_example(self, completion: str, example: Example) -> Score:
        return self.score_row(completion, example.meta["row"])

    def score_row(self, completion: str, row: Row) -> Score:
        result = self.reward(completion, row)
        if isinstance(result, Score):
            return result
        if not isinstance(result, tuple) or len(result) not in (2, 3):
            raise TypeError(f"{self.name}: the reward function must return (reward, correct[, extracted]) or a Score, got {result!r}")
        reward, correct, *extracted = result
        return Score(reward=float(reward), correct=bool(correct), extracted=extracted[0] if extracted else None)
