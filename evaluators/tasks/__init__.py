"""Task registry: `get_task(name, **options)` builds any registered task by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluators.types import Task

_TASKS: dict[str, Callable[..., Task]] = {}


def register_task(name: str) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    def add(factory: Callable[..., Task]) -> Callable[..., Task]:
        if name in _TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        _TASKS[name] = factory
        return factory

    return add


def get_task(name: str, **options: Any) -> Task:
    """The task `name`, configured by `options` (split difficulty, local path, sizes...)."""
    if name not in _TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_TASKS))}")
    return _TASKS[name](**options)


def task_names() -> list[str]:
    return sorted(_TASKS)


# Importing the modules registers their tasks.
from evaluators.tasks import gsm8k, gsm8k_synth, hotpotqa, hotpotqa_synth, jsonl, math, math_synth  # noqa: E402,F401
