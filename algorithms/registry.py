"""Name -> implementation registries; an unknown name lists the known ones.

The built-in entries register when their modules import, and those import torch, so
they are imported on the first lookup rather than with this module: composing a
config or printing `--help` never pays for torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Callable)

# The modules whose import registers the built-in algorithms, advantages, policy losses and KL estimators.
BUILTIN_MODULES = ("advantages", "losses", "grpo", "nsr", "ppo", "relift", "sft", "superrl")
_builtins_loaded = False


def load_builtins() -> None:
    """Import the built-in modules once (the flag is set first: they register while importing)."""
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"algorithms.{module}")


class Registry(Generic[T]):
    """A named table of interchangeable callables that share one signature."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        load_builtins()
        if name not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        load_builtins()
        return sorted(self._entries)


ALGORITHMS: Registry = Registry("algorithm")
ADVANTAGES: Registry = Registry("advantage")
POLICY_LOSSES: Registry = Registry("policy loss")
KL_ESTIMATORS: Registry = Registry("KL estimator")

register_algorithm = ALGORITHMS.register
register_advantage = ADVANTAGES.register
register_policy_loss = POLICY_LOSSES.register
register_kl = KL_ESTIMATORS.register
