"""`python -m bench.eval model.path=... dataset=...`: evaluation only, any checkpoint.

Writes the same eval.json / samples.jsonl / pass@k figure as a training run, into
the Hydra run dir (`results/runs/<experiment>/<timestamp>-eval-...`). Under torchrun the
problems are sharded over the ranks and rank 0 writes the results.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from bench import build
from bench.app import CONF_DIR, launch
from bench.io import atomic_write_text
from bench.results import print_summary, write_results
from bench.session import open_session

log = logging.getLogger("bench.eval")


def run_eval(cfg: DictConfig, out_dir: Path) -> dict | None:
    session = open_session(cfg)
    if session.parallel.is_main:
        atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    result = session.evaluate()
    if not session.parallel.is_main:
        return None
    label = Path(cfg.model.path).name if cfg.model.path else cfg.model.name
    report = write_results(out_dir, cfg, label, session.task, len(session.problems), session.split_size, session.ks, session.sampling, session.eval_seed, result, None, session.device)
    print_summary(label, session.task.name, len(session.problems), cfg.eval.n, session.ks, result, None, out_dir)
    return report


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="eval")
def hydra_main(cfg: DictConfig) -> None:
    try:
        run_eval(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (build.ConfigError, FileNotFoundError, OSError) as error:
        log.error("%s", error)
        sys.exit(1)


def main() -> None:
    launch(hydra_main)


if __name__ == "__main__":
    main()
