"""Metrics sinks: `metrics.jsonl` always (the source of truth), wandb optionally.

wandb is imported only for `logger=wandb`, and runs offline unless
`logger.mode=online`: no login prompt, no network, its files under the run dir
(`wandb/offline-run-*/run-<id>.wandb`, pushed later with `wandb sync`). The wandb
run id is derived from the run dir, so a resumed run continues the same run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from bench.config import LoggerConfig
from bench.io import atomic_write_jsonl


def truncate_metrics(path: Path, last_step: int) -> None:
    """Keep the rows of steps <= `last_step` (a resumed run re-logs the rest); drop a torn last line."""
    if not path.exists():
        return
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row["step"] <= last_step:
            rows.append(row)
    atomic_write_jsonl(path, rows)


class MetricsLog:
    """Appends one JSON line per step and mirrors it to the configured tracker."""

    def __init__(self, path: Path, logger: LoggerConfig, run_name: str, group: str, config: dict[str, Any], start_step: int = 0) -> None:
        truncate_metrics(path, start_step)
        self.path = path
        self.file = open(path, "a")
        self.wandb_run = None
        if logger.name == "wandb":
            self.wandb_run = start_wandb(logger, path.parent, run_name, group, config)
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


def start_wandb(logger: LoggerConfig, run_dir: Path, run_name: str, group: str, config: dict[str, Any]):
    os.environ.setdefault("WANDB_SILENT", "true")  # no banner or sync hints on stdout
    import wandb

    return wandb.init(
        project=logger.project,
        mode=logger.mode,
        group=logger.group or group,
        name=run_name,
        id=hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16],
        resume="allow",
        config=config,
        dir=str(run_dir),
        reinit="finish_previous",
        settings=wandb.Settings(silent=True, console="off"),
    )
