"""`math`: competition mathematics (Hendrycks et al. MATH).

Default: `HuggingFaceH4/MATH-500` (test only; its `answer` field is the gold).
With `subsets`, the full set from `EleutherAI/hendrycks_math` (one config per
subject, train and test; the gold is the last `\\boxed{}` of the solution, since
`hendrycks/competition_math` was taken down). The demo is the solution.
`prompt` picks the preset: `default`, `chat`, or lm-eval's `minerva_math` (4-shot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from evaluators.grading import math as math_grading
from evaluators.tasks import register_task
from evaluators.tasks.loading import HubDataset, MalformedRow, Row, check_few_shot, require_text, to_examples
from evaluators.tasks.minerva_math import minerva_demo, minerva_prompt, minerva_score
from evaluators.tasks.presets import fixed_shots_refuse_few_shot, preset_for
from evaluators.tasks.prompting import build_prompt, chat_prompt
from evaluators.types import Example, Score

MATH500 = HubDataset("HuggingFaceH4/MATH-500", None, {"test": "test"})
SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def hendrycks_source(subject: str) -> HubDataset:
    return HubDataset("EleutherAI/hendrycks_math", subject, {"train": "train", "test": "test"})


def to_example(row: Row, example_id: str) -> Example:
    """One MATH-500 row (`problem`, `solution`, `answer`, ...) as an Example."""
    problem, solution, answer = require_text(row, "problem", "solution", "answer")
    meta = {key: row[key] for key in ("subject", "level", "unique_id") if key in row}
    return Example(id=example_id, prompt=problem, answer=answer, demo=solution, meta=meta)


def math500_id(row: Row, index: int, split: str) -> str:
    return str(row.get("unique_id") or f"{split}-{index}")


def hendrycks_to_example(row: Row, example_id: str, subject: str) -> Example:
    """One hendrycks_math row (`problem`, `level`, `type`, `solution`); gold = last box."""
    problem, solution = require_text(row, "problem", "solution")
    answer = math_grading.last_boxed(solution)
    if answer is None or not answer.strip():
        raise MalformedRow("solution has no \\boxed{} answer")
    meta = {"subject": subject, **{key: row[key] for key in ("type", "level") if key in row}}
    return Example(id=example_id, prompt=problem, answer=answer, demo=solution, meta=meta)


@register_task("math")
@dataclass
class MATH:
    """MATH-500, or the chosen subjects of the full MATH set."""

    subsets: Sequence[str] | str | None = None  # None = MATH-500; subject names or "all" = hendrycks_math
    path: str | None = None  # local files in the hub schema (with subsets: one folder per subject)
    revision: str | None = None  # hub revision (commit, tag or branch)
    limit: int | None = None  # first N rows of each split (of each subject)
    few_shot: int = 0  # first k train examples shown before each question (needs subsets)
    prompt: str = "default"  # preset: default | chat | minerva_math (evaluators/tasks/presets.py)
    grading: str = "lighteval"  # lighteval: math-verify over the whole completion, boxed first | boxed: the last \\boxed{} only
    name: str = "math"
    version: str = "2"  # 2: the plain default prompt carries the instruction; lighteval grading by default
    # per split: (row id, reason) of each malformed row that load() skipped
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _shots: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.subsets is not None:
            if isinstance(self.subsets, str):
                self.subsets = SUBJECTS if self.subsets == "all" else (self.subsets,)
            self.subsets = tuple(self.subsets)  # also turns an omegaconf ListConfig into plain names
            unknown = sorted(set(self.subsets) - set(SUBJECTS))
            if unknown or not self.subsets:
                known = ", ".join(SUBJECTS)
                raise ValueError(f"math: subsets must be 'all' or names from {known}; got {self.subsets}")
        check_few_shot(self.name, self.few_shot, self.subsets is not None)
        if self.grading not in math_grading.GRADING_MODES:
            raise ValueError(f"math: grading must be one of {', '.join(math_grading.GRADING_MODES)}; got {self.grading!r}")
        preset_for(self.name, self.prompt)
        fixed_shots_refuse_few_shot(self.name, self.prompt, self.few_shot)

    def hub_datasets(self) -> list[tuple[str, str | None]]:
        """The (repo, config) pairs this task downloads: MATH-500, or one hendrycks_math config per subject; none from local files."""
        if self.path is not None:
            return []
        sources = [MATH500] if self.subsets is None else [hendrycks_source(subject) for subject in self.subsets]
        return [(source.hub_id, source.config) for source in sources]

    def load(self, split: str) -> list[Example]:
        examples, self.skipped[split] = self._examples(split, self.limit)
        return examples

    def _examples(self, split: str, limit: int | None) -> tuple[list[Example], list[tuple[str, str]]]:
        where = f"{self.name}/{split}"
        if self.subsets is None:
            rows = MATH500.rows(split, path=self.path, revision=self.revision, limit=limit)
            return to_examples(rows, to_example, lambda row, i: math500_id(row, i, split), where=where)
        examples: list[Example] = []
        skipped: list[tuple[str, str]] = []
        for subject in self.subsets:
            path = None if self.path is None else str(Path(self.path) / subject)
            rows = hendrycks_source(subject).rows(split, path=path, revision=self.revision, limit=limit)
            convert = partial(hendrycks_to_example, subject=subject)
            got, bad = to_examples(rows, convert, lambda _, i: f"{subject}/{split}-{i}", where=f"{where}/{subject}")
            examples += got
            skipped += bad
        return examples, skipped

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        if self.prompt == "minerva_math":
            return minerva_prompt(example.prompt)
        if self.prompt == "chat":
            return chat_prompt(example.prompt, math_grading.INSTRUCTION, tokenizer)
        if self._shots is None:
            shots = self._examples("train", self.few_shot)[0][: self.few_shot] if self.few_shot else []
            self._shots = [(shot.prompt, self.format_demo(shot)) for shot in shots]
        return build_prompt(example.prompt, math_grading.INSTRUCTION, tokenizer, self._shots)

    def format_demo(self, example: Example) -> str:
        if self.prompt == "minerva_math":
            return minerva_demo(example)
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        if self.prompt == "minerva_math":
            return minerva_score(completion, gold)
        return math_grading.score(completion, gold, grading=self.grading)
