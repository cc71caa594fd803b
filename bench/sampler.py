"""Seeded prompt sampling over the train split, resumable by position."""

from __future__ import annotations

import random

from evaluators.types import Example


class PromptSampler:
    """Shuffled epochs without replacement; `(epoch, cursor)` is its whole state."""

    def __init__(self, examples: list[Example], seed: int) -> None:
        if not examples:
            raise ValueError("the train split is empty")
        self.examples, self.seed = examples, seed
        self.epoch, self.cursor = 0, 0
        self.order = self._shuffled(0)

    def _shuffled(self, epoch: int) -> list[int]:
        order = list(range(len(self.examples)))
        random.Random(f"{self.seed}/{epoch}").shuffle(order)
        return order

    def next(self, count: int) -> list[Example]:
        drawn = []
        while len(drawn) < count:
            if self.cursor == len(self.order):
                self.epoch, self.cursor = self.epoch + 1, 0
                self.order = self._shuffled(self.epoch)
            drawn.append(self.examples[self.order[self.cursor]])
            self.cursor += 1
        return drawn

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.cursor = state["epoch"], state["cursor"]
        self.order = self._shuffled(self.epoch)
