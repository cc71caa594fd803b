"""Metrics sinks: `metrics.jsonl` always (the source of truth), wandb optionally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.config import LoggerConfig


class MetricsLog:
    """Appends one JSON line per step and mirrors it to the configured tracker."""

    def __init__(self, path: Path, logger: LoggerConfig, run_name: str, group: str, config: dict[str, Any]) -> None:
        self.path = path
        self.file = open(path, "a")
        self.wandb_run = None
        if logger.name == "wandb":
            import wandb

            self.wandb_run = wandb.init(
                project=logger.project,
                mode=logger.mode,
                group=logger.group or group,
                name=run_name,
                config=config,
                dir=str(path.parent),
                reinit="finish_previous",
            )
        elif logger.name != "none":
            raise ValueError(f"unknown logger {logger.name!r}; known: none, wandb")

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.file.write(json.dumps({"step": step, **metrics}) + "\n")
        self.file.flush()
        if self.wandb_run is not None:
            self.wandb_run.log(metrics, step=step)

    def summary(self, metrics: dict[str, float]) -> None:
        if self.wandb_run is not None:
            self.wandb_run.summary.update(metrics)

    def close(self) -> None:
        self.file.close()
        if self.wandb_run is not None:
            self.wandb_run.finish()
