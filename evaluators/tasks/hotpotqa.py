"""`hotpotqa`: multi-hop questions over paragraphs (`hotpotqa/hotpot_qa`, `distractor`).

The prompt shows every context paragraph (title, then its sentences) and then the
question; the demo is the supporting-fact sentences followed by `Answer: <answer>`,
the line the grader reads. The hub has no labelled test split, so our `test` is the
hub's `validation` (as in the papers that report HotpotQA). `prompt` picks the
preset: `default` or `chat`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators.grading import hotpotqa as hotpotqa_grading
from evaluators.tasks import register_task
from evaluators.tasks.loading import HubDataset, MalformedRow, Row, check_few_shot, require_text, to_examples
from evaluators.tasks.presets import fixed_shots_refuse_few_shot, preset_for
from evaluators.tasks.prompting import build_prompt, chat_prompt
from evaluators.types import Example, Score

SOURCE = HubDataset("hotpotqa/hotpot_qa", "distractor", {"train": "train", "test": "validation"})


def context_prompt(titles: Sequence[str], sentences: Sequence[Sequence[str]], question: str) -> str:
    """Paragraphs as `Title: sentences` lines, then the question."""
    paragraphs = [f"{title}: {''.join(lines).strip()}" for title, lines in zip(titles, sentences)]
    return "\n".join(paragraphs) + f"\nQuestion: {question}"


def demo_text(facts: Sequence[str], answer: str) -> str:
    reasoning = " ".join(fact.strip() for fact in facts)
    return f"{reasoning}\nAnswer: {answer}" if reasoning else f"Answer: {answer}"


def row_id(row: Row, index: int, split: str) -> str:
    return str(row.get("id") or f"{split}-{index}")


def supporting_sentences(row: Row) -> list[str]:
    """The supporting-fact sentences, in the row's order.

    A fact pointing past its paragraph (a known quirk of a few HotpotQA rows) is
    left out of the demo rather than dropping the question.
    """
    paragraphs = dict(zip(row["context"]["title"], row["context"]["sentences"]))
    facts = row["supporting_facts"]
    return [
        paragraphs[title][sent_id]
        for title, sent_id in zip(facts["title"], facts["sent_id"])
        if title in paragraphs and isinstance(sent_id, int) and 0 <= sent_id < len(paragraphs[title])
    ]


def to_example(row: Row, example_id: str) -> Example:
    """One HotpotQA row as an Example; MalformedRow if a field is missing or misshapen."""
    question, answer = require_text(row, "question", "answer")
    context, facts = row.get("context"), row.get("supporting_facts")
    if not isinstance(context, dict) or not {"title", "sentences"} <= context.keys():
        raise MalformedRow("missing or misshapen field 'context' (needs title and sentences)")
    if not isinstance(facts, dict) or not {"title", "sent_id"} <= facts.keys():
        raise MalformedRow("missing or misshapen field 'supporting_facts' (needs title and sent_id)")
    return Example(
        id=example_id,
        prompt=context_prompt(context["title"], context["sentences"], question),
        answer=answer,
        demo=demo_text(supporting_sentences(row), answer),
        meta={key: row[key] for key in ("type", "level") if key in row},
    )


@register_task("hotpotqa")
@dataclass
class HotpotQA:
    """HotpotQA distractor setting, from the hub or from local files in its schema."""

    path: str | None = None  # local .jsonl/.parquet file or directory of <split> files (validation for test)
    revision: str | None = None  # hub revision (commit, tag or branch)
    limit: int | None = None  # first N rows of each split
    few_shot: int = 0  # first k train examples shown before each question
    prompt: str = "default"  # preset: default | chat (evaluators/tasks/presets.py)
    name: str = "hotpotqa"
    version: str = "2"  # 2: the plain default prompt carries the instruction
    # per split: (row id, reason) of each malformed row that load() skipped
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _shots: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)

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
        return to_examples(rows, to_example, lambda row, i: row_id(row, i, split), where=f"{self.name}/{split}")

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        if self.prompt == "chat":
            return chat_prompt(example.prompt, hotpotqa_grading.INSTRUCTION, tokenizer)
        if self._shots is None:
            shots = self._examples("train", self.few_shot)[0] if self.few_shot else []
            self._shots = [(shot.prompt, self.format_demo(shot)) for shot in shots]
        return build_prompt(example.prompt, hotpotqa_grading.INSTRUCTION, tokenizer, self._shots)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        return hotpotqa_grading.score(completion, gold)
