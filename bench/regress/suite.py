"""The regression benchmark: a few small seeded runs of the embedded suite.

Sized for CI on 2 CPU cores (minutes, not hours) while keeping standard errors
meaningful: every evaluation is 200 held-out problems x 16 samples. All cells share
one dedicated base recipe, gsm8k_synth demos only for 150 steps: about a minute to
build, and it leaves pass@1 low and pass@16 high. The default mixture base takes
several times longer and, at any size CI can afford, solves almost no math_synth or
hotpotqa_synth problems, so those metrics would be zeros; their graders are covered
by the frozen completions in results/baselines/graders.json instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE = "base"  # the cell that only evaluates the starting policy
THREADS = 1  # torch threads per process: bit-exact results need a fixed count, and on a
# shared 2-core machine one thread per process beats two (tiny matrices, no contention)

# The settings that define the benchmark; `key=value` Hydra overrides of every run.
SHARED: dict[str, Any] = {
    "device": "cpu",
    "model.base.steps": 150,
    "eval.n": 16,
    "eval.problems": 200,
    "eval.base": False,  # the `base` cell evaluates the starting policy once
}
TRAINING: dict[str, Any] = {
    "train.steps": 10,
    "rollout.prompts_per_step": 16,
    "rollout.n": 8,
}
ALGORITHMS = ("grpo", "nsr", "sft")  # the slowest first: cells start in this order
DATASETS = ("gsm8k_synth",)
SEEDS = (0,)
METRICS = ("pass@1", "pass@4", "pass@16", "maj@16")  # tracked; all higher-is-better


@dataclass(frozen=True)
class Cell:
    """One run of the benchmark: an algorithm (or `base`) on a dataset with a seed."""

    name: str
    dataset: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.name}-{self.dataset}-s{self.seed}"

    @property
    def label(self) -> str:
        """The `algorithm` field its eval.json carries (`bench.eval` labels by model name)."""
        return "tiny" if self.name == BASE else self.name

    @property
    def settings(self) -> dict[str, Any]:
        own = {"dataset.name": self.dataset, "seed": self.seed}
        return {**SHARED, **own} if self.name == BASE else {**SHARED, **TRAINING, **own}

    def command(self, out_dir: Path) -> list[str]:
        entry = ["bench.eval"] if self.name == BASE else ["bench", f"algorithm={self.name}"]
        overrides = [f"{key}={override_value(value)}" for key, value in self.settings.items()]
        return [sys.executable, "-m", *entry, *overrides, f"hydra.run.dir={out_dir}"]


def override_value(value: Any) -> str:
    """A Python value as Hydra override syntax: `[a,b]`, `true`, `0.001`."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


CELLS: tuple[Cell, ...] = tuple(
    Cell(name, dataset, seed) for dataset in DATASETS for seed in SEEDS for name in (*ALGORITHMS, BASE)
)


def select(ids: list[str] | None) -> list[Cell]:
    """The cells named in `ids` (all when None); unknown ids fail listing the known ones."""
    if not ids:
        return list(CELLS)
    known = {cell.id: cell for cell in CELLS}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown cells {unknown}; known: {', '.join(known)}")
    return [known[i] for i in ids]
