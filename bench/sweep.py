"""Hydra callback for multiruns: check every job before any starts, summarise them after the last.

Before launching it composes each job of the sweep exactly as the basic sweeper
will (`hydra.sweeper.params` + command line), so an unknown value, a cross-field
error, two jobs sharing one output dir, or a model or dataset that is not
available (bench/availability.py, once per distinct input) stop the sweep before
anything is written. After the last job it reads each job dir (bench.rundir), prints a table
of status, wall time and pass@1 with the totals, writes `summary.md` in the sweep dir atomically,
and exits non-zero when a job failed or is missing; rerunning the same command
with `sweep_id=<id> resume=auto` redoes only those.

Hydra turns exceptions raised in callbacks into warnings, so a failure here
leaves through SystemExit.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper  # its grid expansion: the jobs checked are the jobs launched
from omegaconf import DictConfig, OmegaConf, open_dict

from bench import distributed
from bench.availability import check_inputs
from bench.build import ConfigError, check_config
from bench.io import atomic_write_text
from bench.rundir import EVAL, RunDir

SUMMARY = "summary.md"
BASIC_SWEEPER = f"{BasicSweeper.__module__}.{BasicSweeper.__name__}"


class SweepCallback(Callback):
    """Only for the basic sweeper (grid sweeps): other sweepers choose their jobs as they go."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        if config.hydra.sweeper._target_ != BASIC_SWEEPER:
            return
        jobs = composed_jobs(config)
        seen: dict[Path, str] = {}
        for overrides, _, path in jobs:
            if path in seen:
                raise SystemExit(
                    f"sweep not launched: jobs [{seen[path]}] and [{overrides}] would share {path}; "
                    "name jobs by the swept key, e.g. hydra.sweep.subdir='${hydra:runtime.choices.algorithm}-lr${train.lr}-s${seed}'"
                )
            seen[path] = overrides
        try:
            check_inputs(job for _, job, _ in jobs)  # each distinct model and dataset once, before any job starts
        except ConfigError as error:
            raise SystemExit(f"sweep not launched: {error}") from None

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if config.hydra.sweeper._target_ != BASIC_SWEEPER or not distributed.current().is_main:
            return  # under torchrun, rank 0 alone summarises (the others may finish before it wrote the last job)
        rows = [(path.name, RunDir(path).status(), pass_at_1(path)) for _, path in job_dirs(config)]
        summary = f"{summary_table(rows)}\n\n{totals(rows)}"
        sweep_dir = Path(str(config.hydra.sweep.dir))
        atomic_write_text(sweep_dir / SUMMARY, summary + "\n")
        print(f"\n{summary}\n\nsummary: {sweep_dir / SUMMARY}")
        unfinished = [name for name, status, _ in rows if status["status"] != "complete"]
        if unfinished:
            raise SystemExit(
                f"{len(unfinished)} of {len(rows)} jobs did not complete ({', '.join(unfinished)}); rerun the same command "
                f"with sweep_id={config.sweep_id} resume=auto to redo only those"
            )


def job_dirs(config: DictConfig) -> list[tuple[str, Path]]:
    """(overrides, output dir) of every job the basic sweeper will launch."""
    return [(overrides, path) for overrides, _, path in composed_jobs(config)]


def composed_jobs(config: DictConfig) -> list[tuple[str, DictConfig, Path]]:
    """(overrides, config, output dir) of every job the basic sweeper will launch, each composed and checked."""
    loader = GlobalHydra.instance().config_loader()
    str(config.hydra.sweep.dir)  # resolve the sweep's timestamp once: every job composed below shares it
    params = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    arguments = params + list(OmegaConf.to_container(config.hydra.overrides.task))
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    out = []
    for num, overrides in enumerate(jobs):
        try:
            job = loader.load_sweep_config(config, list(overrides))
            check_config(job)
        except (HydraException, ConfigError) as error:
            raise SystemExit(f"sweep not launched: job [{' '.join(overrides)}]: {error}") from error
        out.append((" ".join(overrides), job, job_dir(job, num)))
    return out


def job_dir(job: DictConfig, num: int) -> Path:
    """Resolve the job's sweep dir/subdir with its own Hydra config in place, as the launcher will."""
    with open_dict(job.hydra.job):
        job.hydra.job.num = num
        job.hydra.job.id = str(num)
    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    hydra_config.set_config(job)
    try:
        return Path(str(job.hydra.sweep.dir)) / str(job.hydra.sweep.subdir)
    finally:
        hydra_config.cfg = previous


def pass_at_1(path: Path) -> str:
    if not (path / EVAL).exists():
        return "-"
    report = json.loads((path / EVAL).read_text())
    metrics = report["results"][report["dataset"]]
    return f"{metrics['pass@1']:.3f} ± {metrics['pass@1_stderr']:.3f}"


def totals(rows: list[tuple[str, dict, str]]) -> str:
    """Job counts by status and the summed job wall time: a resumed sweep's cost across its launches."""
    counts = Counter(status["status"] for _, status, _ in rows)
    seconds = sum(status["wall_s"] or 0.0 for _, status, _ in rows)
    by_status = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{len(rows)} jobs: {by_status}; job wall time {seconds / 3600:.2f} h in total (the sum over jobs, every attempt of a resumed job included)."


def summary_table(rows: list[tuple[str, dict, str]]) -> str:
    """A markdown table: job, status, wall time, pass@1, error."""
    lines = ["| job | status | wall | pass@1 | error |", "| --- | --- | --- | --- | --- |"]
    for name, status, score in rows:
        wall = f"{status['wall_s']:.0f}s" if status["wall_s"] is not None else "-"
        error = (status["error"] or "").replace("|", "/").replace("\n", " ")[:120]
        lines.append(f"| {name} | {status['status']} | {wall} | {score} | {error} |")
    return "\n".join(lines)
