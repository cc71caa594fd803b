"""The interface the runner drives, whatever the algorithm."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from algorithms.batch import RolloutBatch
from evaluators.types import Example


class Algorithm(ABC):
    """Built from `(config, TrainContext)`; `update` runs one training step.

    `needs_rollouts = False` lets the runner skip generation (SFT).
    `needs_demos = True` makes the runner refuse datasets without demonstrations.
    """

    needs_rollouts: bool = True
    needs_demos: bool = False

    @abstractmethod
    def update(self, examples: list[Example], rollouts: RolloutBatch | None) -> dict[str, float]: ...

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything beyond the policy weights needed to resume (optimizers, buffers)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
