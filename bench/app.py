"""`python -m bench` / `rlvr-bench`: the CLI that composes a config and hands it to the job.

It imports only Hydra and the torch-free schemas: the job (bench/job.py, which imports
torch and transformers) is imported once Hydra has a config to run, so `--help`, `--cfg job`
and tab completion answer without it. `--help` / `-h` is this project's (bench/cli_help.py);
Hydra's own flags (`--hydra-help`, `--cfg`, `-m`, `-sc`) pass through. Under torchrun every
rank composes the same run (bench/distributed.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from bench import resources
from bench.config import register_configs

CONF_DIR = str(resources.CONF_DIR)
HELP_FLAGS = {"--help", "-h"}
register_configs()


def compose_config(overrides: list[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """The main config composed outside the CLI (benchmarks, regress, tests), checked like the CLI's."""
    with hydra.initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        return hydra.compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    from bench.job import run_job  # torch and transformers: only once there is a job to run

    run_job(cfg)


def main() -> None:
    """The entry point of both `python -m bench` and `rlvr-bench`: `--help` here, the rest to Hydra."""
    args = sys.argv[1:]
    if HELP_FLAGS.intersection(args):
        from bench.cli_help import print_help

        sys.exit(print_help([a for a in args if a not in HELP_FLAGS]))
    launch(hydra_main)


def launch(entry: Callable[[], None]) -> None:
    """Run a Hydra entry point; under torchrun, once every rank has agreed on the run (bench/distributed.py)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        entry()
        return
    from bench import distributed  # torch: only for a run torchrun started

    sys.argv += distributed.agreed_overrides(sys.argv[1:])
    try:
        entry()
    finally:
        distributed.finish()
