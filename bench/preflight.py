"""Checks that run before any work (and before a run dir exists): no key the schema does not declare
(and, in the callback, the config's rules and its inputs' availability, bench/availability.py).

Hydra's `+key=value` adds a key even to a structured config, so `+algoritm=sft`
would train the default algorithm and `+train.stepz=3` would train 100 steps. Every
node built from a schema dataclass is compared with that dataclass's fields; a key a
user may add lives only under a field the schema types as a dict (`dataset.options`).
"""

from __future__ import annotations

import dataclasses
import difflib

from hydra.core.global_hydra import GlobalHydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

INTERNAL_GROUPS = ("hydra", "schema")  # config groups that are not a user's choice


class ConfigError(ValueError):
    """A config that composes but cannot run; raised before any work starts."""


def unknown_keys(cfg: DictConfig) -> str | None:
    """One message naming every undeclared key with its closest declared names, or None."""
    unknown = list(_unknown(cfg, ""))
    return "; ".join(unknown) + ". New keys are accepted only under dataset.options" if unknown else None


def _unknown(node: DictConfig, prefix: str):
    schema = OmegaConf.get_type(node)
    declared = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else None
    for key in node.keys():
        if prefix == "" and key == "hydra":
            continue
        if declared is not None and key not in declared:
            choices = sorted(set(declared + (user_groups() if prefix == "" else [])))
            close = difflib.get_close_matches(str(key), choices, n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(prefix + c for c in close)}?)" if close else f" (known: {', '.join(sorted(declared))})"
            yield f"unknown key {prefix}{key}{hint}"
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            yield from _unknown(child, f"{prefix}{key}.")


def user_groups() -> list[str]:
    """The config groups a user picks (`algorithm`, `debug`, ...), from Hydra's search path."""
    if not GlobalHydra.instance().is_initialized():
        return []
    groups = GlobalHydra.instance().config_loader().list_groups("")
    return sorted(g for g in groups if g not in INTERNAL_GROUPS)


class Preflight(Callback):
    """Hydra callback: a single run's config, then its model and dataset, are checked before Hydra makes its run dir."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        from bench.availability import check_inputs  # not at import: bench.build, which both import, imports this module
        from bench.build import ConfigError, check_config

        try:
            check_config(config)
            check_inputs([config])
        except ConfigError as error:
            raise SystemExit(f"run not started: {error}") from None  # Hydra turns a callback's exceptions into warnings
