"""The pass@1 that "time to target" counts up to, one per (model, dataset).

One global threshold suits no suite: 0.38 is a modest gain on gsm8k_synth and out
of reach on math_synth (base 0.013) or the hard split. So a level is absolute
(`0.38`) or relative to the base policy (`+0.05`: that model's base pass@1 on that
dataset plus 0.05), and datasets can override the default:
`+0.05,math_synth=+0.01,gsm8k_synth-hard=0.01`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pandas as pd

DEFAULT_SPEC = "+0.05"


@dataclass(frozen=True)
class Level:
    value: float
    relative: bool  # added to the base pass@1, or the pass@1 itself

    def __str__(self) -> str:
        return f"base {self.value:+g}" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class TargetSpec:
    default: Level
    per_dataset: dict[str, Level] = field(default_factory=dict)

    def level(self, dataset: str) -> Level:
        return self.per_dataset.get(dataset, self.default)


@dataclass(frozen=True)
class Threshold:
    value: float
    base: float | None = None  # the base pass@1 it was measured from, when relative

    def __str__(self) -> str:
        if self.base is None:
            return f"{self.value:.3g}"
        return f"{self.value:.3g} = base {self.base:.3f} + {self.value - self.base:.3g}"


def parse_level(text: str) -> Level:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"target level {text!r} is not a number (absolute: 0.38; relative to the base: +0.05)") from None
    relative = text.strip().startswith("+")
    if not relative and not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"target level {text!r}: an absolute pass@1 lies in [0, 1] (relative to the base: +{abs(value):g})")
    return Level(value, relative)


def parse_target(text: str) -> TargetSpec:
    """`LEVEL`, `DATASET=LEVEL`, comma-separated: a bare level sets the default (else DEFAULT_SPEC)."""
    default, per_dataset = None, {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        dataset, _, level = item.rpartition("=")
        if not dataset and item.startswith("="):
            raise argparse.ArgumentTypeError(f"target item {item!r} names no dataset")
        if dataset in per_dataset or (not dataset and default is not None):
            raise argparse.ArgumentTypeError(f"target {text!r} sets {dataset or 'the default'} twice")
        if dataset:
            per_dataset[dataset] = parse_level(level)
        else:
            default = parse_level(level)
    return TargetSpec(default or parse_level(DEFAULT_SPEC), per_dataset)


def resolve_thresholds(spec: TargetSpec, tidy: pd.DataFrame) -> tuple[dict[tuple[str, str], Threshold], list[str]]:
    """A threshold per (model, dataset) with trained runs; a relative level needs that base's pass@1 (mean over seeds)."""
    base = tidy[(tidy.algorithm == "base") & (tidy.metric == "pass") & (tidy.k == 1)].groupby(["model", "dataset"]).value.mean()
    thresholds, notes = {}, []
    for model, dataset in tidy[tidy.algorithm != "base"][["model", "dataset"]].drop_duplicates().itertuples(index=False):
        level = spec.level(dataset)
        if not level.relative:
            thresholds[model, dataset] = Threshold(level.value)
        elif (model, dataset) in base.index:
            thresholds[model, dataset] = Threshold(base[model, dataset] + level.value, float(base[model, dataset]))
        else:
            notes.append(f"time to target: {dataset} ({model}) has no base evaluation, so no target at {level}; not measured.")
    unused = sorted(set(spec.per_dataset) - set(tidy.dataset))
    if unused:
        notes.append(f"time to target: --target names {', '.join(unused)}, which no run trained on.")
    return thresholds, notes
