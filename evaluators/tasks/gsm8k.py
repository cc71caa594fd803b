"""`gsm8k`: grade-school math word problems (`openai/gsm8k`, config `main`).

The gold is the number after `####` in the `answer` field, which is also the demo
(the worked solution, calculator annotations included). Rows whose gold has no
parsable `#### N` are skipped and reported. `prompt` picks the preset: `default`,
`chat`, or lm-eval's `gsm8k` (5-shot) and `gsm8k_cot` (8-shot), see gsm8k_presets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluators.grading import gsm8k as gsm8k_grading
from evaluators.tasks import gsm8k_presets, register_task
from evaluators.tasks.loading import HubDataset, MalformedRow, Row, check_few_shot, require_text, to_examples
from evaluators.tasks.presets import fixed_shots_refuse_few_shot, preset_for
from evaluators.tasks.prompting import build_prompt, chat_prompt
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


def row_position(example: Example) -> tuple[str, int]:
    """(split, position of the row in that split) from an id `<split>-<position>`, as `_examples` names them."""
    split, _, position = example.id.rpartition("-")
    if not split or not position.isdigit():
        raise ValueError(f"gsm8k: example id {example.id!r} is not '<split>-<row position>'; the 5-shot draws need the position")
    return split, int(position)


@register_task("gsm8k")
@dataclass
class GSM8K:
    """GSM8K from the hub or from local files in its schema (`path`)."""

    path: str | None = None  # local .jsonl/.parquet file or directory of <split> files
    revision: str | None = None  # hub revision (commit, tag or branch)
    limit: int | None = None  # first N rows of each split
    few_shot: int = 0  # first k train examples shown before each question
    match: str = "strict"  # GSM8K extraction: strict (#### N, or `The answer is N` for gsm8k_cot) | flexible (last number)
    prompt: str = "default"  # preset: default | chat | gsm8k | gsm8k_cot (evaluators/tasks/presets.py)
    name: str = "gsm8k"
    version: str = "2"  # 2: the plain default prompt carries the instruction
    # per split: (row id, reason) of each malformed row that load() skipped
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _shots: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)
    _train_rows: list[Row] | None = field(default=None, init=False, repr=False, compare=False)
    _draws: dict[str, gsm8k_presets.ShotDraws] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_few_shot(self.name, self.few_shot, "train" in SOURCE.splits)
        preset_for(self.name, self.prompt)
        fixed_shots_refuse_few_shot(self.name, self.prompt, self.few_shot)

    def hub_datasets(self) -> list[tuple[str, str | None]]:
        """The (repo, config) pairs this task downloads: none when it reads local files."""
        return [] if self.path is not None else [(SOURCE.hub_id, SOURCE.config)]

    def load(self, split: str) -> list[Example]:
        examples, self.skipped[split] = self._examples(split, self.limit)
        return examples

    def _examples(self, split: str, limit: int | None) -> tuple[list[Example], list[tuple[str, str]]]:
        rows = SOURCE.rows(split, path=self.path, revision=self.revision, limit=limit)
        return to_examples(rows, to_example, lambda _, index: f"{split}-{index}", where=f"{self.name}/{split}")

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        if self.prompt == "gsm8k":
            return gsm8k_presets.question_answer_prompt(self._five_shots(example), example.prompt)
        if self.prompt == "gsm8k_cot":
            return gsm8k_presets.cot_prompt(example.prompt)
        if self.prompt == "chat":
            return chat_prompt(example.prompt, gsm8k_grading.INSTRUCTION, tokenizer)
        if self._shots is None:
            shots = self._examples("train", self.few_shot)[0] if self.few_shot else []
            self._shots = [(shot.prompt, self.format_demo(shot)) for shot in shots]
        return build_prompt(example.prompt, gsm8k_grading.INSTRUCTION, tokenizer, self._shots)

    def _five_shots(self, example: Example) -> list[tuple[str, str]]:
        """lm-eval's draw for this row: every train row is in the pool (no `limit`, none skipped), as lm-eval sees the split."""
        if self._train_rows is None:
            self._train_rows = list(SOURCE.rows("train", path=self.path, revision=self.revision, limit=None))
        split, position = row_position(example)
        if split not in self._draws:
            self._draws[split] = gsm8k_presets.ShotDraws(self._train_rows, gsm8k_presets.FIVE_SHOT, same_split=split == "train")
        rows = [self._train_rows[i] for i in self._draws[split].for_document(position)]
        return [(row["question"], row["answer"]) for row in rows]

    def format_demo(self, example: Example) -> str:
        if self.prompt == "gsm8k":
            return gsm8k_presets.TARGET_DELIMITER + (example.demo or "")
        if self.prompt == "gsm8k_cot":
            return gsm8k_presets.cot_demo(example)
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        if self.prompt == "gsm8k_cot":
            return gsm8k_presets.cot_score(completion, gold, self.match)
        return gsm8k_grading.score(completion, gold, self.match)
