"""Rows of a real dataset, from local files in the hub schema or from the hub itself.

Machines here often have no route to the dataset hub, so a failed hub load becomes
one error that names both ways out: local files (`dataset.path=...`) or network
access. Rows that a task cannot use are skipped and reported by id, never fatal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.types import Example

log = logging.getLogger(__name__)

Row = dict[str, Any]
LOCAL_FORMATS = (".jsonl", ".parquet")


class DatasetUnavailableError(RuntimeError):
    """The hub could not be reached (or lacks the dataset) and no local files were given."""


class MalformedRow(ValueError):
    """A row the task cannot use (missing field, unparsable gold); it is skipped."""


def load_rows(
    hub_id: str,
    config: str | None,
    split: str,
    revision: str | None = None,
    path: str | None = None,
    limit: int | None = None,
) -> Iterable[Row]:
    """The first `limit` rows (all when None) of `split`, from `path` when set, else the hub.

    `path` is a `.jsonl`/`.parquet` file (used for whatever split is asked) or a
    directory holding `<split>.jsonl` or `<split>.parquet`.
    """
    if path is not None:
        return read_local(Path(path), split)[:limit]
    return _hub_rows(hub_id, config, split, revision, limit)


def read_local(path: Path, split: str) -> list[Row]:
    if path.is_dir():
        candidates = [path / f"{split}{suffix}" for suffix in LOCAL_FORMATS]
        found = [candidate for candidate in candidates if candidate.is_file()]
        if not found:
            raise FileNotFoundError(f"no {' or '.join(str(c) for c in candidates)} for split {split!r}")
        path = found[0]
    if path.suffix == ".jsonl":
        return _read_jsonl(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise ValueError(f"dataset.path must be a directory or a {'/'.join(LOCAL_FORMATS)} file, got {path}")


def _read_jsonl(path: Path) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{number} is not valid JSON: {err}") from err
    return rows


def _hub_rows(
    hub_id: str, config: str | None, split: str, revision: str | None, limit: int | None
) -> Iterable[Row]:
    # Imported here: `datasets` is slow to import and synthetic-only runs never need it.
    import datasets

    try:
        dataset = datasets.load_dataset(hub_id, config, split=split, revision=revision)
    except (ConnectionError, TimeoutError, FileNotFoundError) as err:
        # Offline mode and no route surface as ConnectionError subclasses; a dataset
        # neither reachable nor cached as DatasetNotFoundError / LocalEntryNotFoundError,
        # both FileNotFoundError subclasses.
        raise DatasetUnavailableError(
            f"cannot load {hub_id!r} (config {config!r}, split {split!r}) from the Hugging Face Hub: {err}\n"
            f"Either point the task at local files in the same schema with dataset.path=<a .jsonl/.parquet "
            f"file, or a directory holding {split}.jsonl or {split}.parquet>, or give this machine network "
            f"access to the hub dataset {hub_id!r} (or a cached copy of it)."
        ) from err
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return dataset  # iterating yields one row dict at a time, so a large split is never copied whole


def to_examples(
    rows: Iterable[Row],
    convert: Callable[[Row, str], Example],
    row_id: Callable[[Row, int], str],
    *,
    where: str,
) -> tuple[list[Example], list[tuple[str, str]]]:
    """Examples of the usable rows, and (id, reason) for each skipped one.

    `convert` raises MalformedRow for a row it cannot use; `where` names the
    task and split in the warning.
    """
    examples: list[Example] = []
    skipped: list[tuple[str, str]] = []
    for index, row in enumerate(rows):
        example_id = row_id(row, index)
        try:
            examples.append(convert(row, example_id))
        except MalformedRow as err:
            skipped.append((example_id, str(err)))
    if skipped:
        log.warning(
            "%s: skipped %d malformed row(s): %s",
            where,
            len(skipped),
            "; ".join(f"{example_id} ({reason})" for example_id, reason in skipped),
        )
    return examples, skipped


def require_text(row: Row, *fields: str) -> list[str]:
    """The named fields as non-empty strings, or MalformedRow naming the first bad one."""
    values = []
    for name in fields:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            problem = "missing field" if value is None else "empty or non-text field"
            raise MalformedRow(f"{problem} {name!r}")
        values.append(value)
    return values


@dataclass(frozen=True)
class HubDataset:
    """Where a real task's rows live and how our split names map onto the hub's."""

    hub_id: str
    config: str | None
    splits: dict[str, str]  # our split name -> the hub's split name (and local file stem)

    def hub_split(self, split: str) -> str:
        if split not in self.splits:
            raise ValueError(f"{self.hub_id} has no split {split!r}; known splits: {', '.join(self.splits)}")
        return self.splits[split]

    def rows(self, split: str, *, path: str | None, revision: str | None, limit: int | None) -> Iterable[Row]:
        return load_rows(self.hub_id, self.config, self.hub_split(split), revision, path, limit)


def check_few_shot(task: str, few_shot: int, has_train: bool) -> None:
    """Shots come from the train split; a task without one cannot have them."""
    if few_shot < 0:
        raise ValueError(f"{task}: few_shot must be >= 0, got {few_shot}")
    if few_shot and not has_train:
        raise ValueError(f"{task}: few_shot={few_shot} needs a train split to draw from; this dataset has none")
