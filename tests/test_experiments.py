"""Every experiment, the smoke debug mode and every launcher preset compose; GPU cells fail cleanly offline."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from bench.app import CONF_DIR, compose_config
from bench.build import check_config
from evaluators.tasks import get_task
from tests.cli_helpers import REPO, bench

EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (Path(CONF_DIR) / "hydra/launcher").glob("*.yaml"))
PLUGIN_OF = {"parallel": "hydra_plugins.hydra_joblib_launcher", "slurm": "hydra_plugins.hydra_submitit_launcher",
             "ray_cluster": "hydra_plugins.hydra_ray_launcher"}


def compose_with_hydra(overrides: list[str]):
    return compose_config(overrides, return_hydra_config=True)


def sweep_values(cfg) -> list[str]:
    """Each `key=value` of the experiment's hydra.sweeper.params, one value at a time."""
    return [f"{key}={value}" for key, values in cfg.hydra.sweeper.params.items() for value in str(values).split(",")]


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("debug", [[], ["debug=smoke"]])
def test_every_experiment_composes_with_each_swept_value(name, debug):
    cfg = compose_with_hydra([f"experiment={name}", *debug])
    assert cfg.experiment == name
    lines = (Path(CONF_DIR) / "experiment" / f"{name}.yaml").read_text().splitlines()
    header = lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))]
    assert header[0] == "# @package _global_" and any("python -m bench" in line for line in header)  # launch command
    for override in sweep_values(cfg) if cfg.hydra.sweeper.params else []:
        check_config(compose_with_hydra([f"experiment={name}", *debug, override]))
    if debug:  # smoke shrinks whatever the experiment asked for
        assert (cfg.train.steps, cfg.eval.n, cfg.eval.problems, cfg.model.base.steps) == (2, 4, 6, 20)
    check_config(cfg)


def test_the_sweep_experiments_cover_their_grids():
    params = {name: compose_with_hydra([f"experiment={name}"]).hydra.sweeper.params for name in ("suite", "nsr_passk", "sparse_reward")}
    algorithms = {p.stem for p in (Path(CONF_DIR) / "algorithm").glob("*.yaml")}
    assert set(params["suite"]["algorithm"].split(",")) == algorithms
    assert params["suite"]["dataset.name"] == "gsm8k_synth,math_synth,hotpotqa_synth" and params["suite"]["seed"] == "0,1,2"
    assert set(params["nsr_passk"]["algorithm"].split(",")) == {"psr", "nsr", "w_reinforce", "grpo", "ppo"}
    assert compose_with_hydra(["experiment=nsr_passk"]).eval.n == 256
    sparse = compose_with_hydra(["experiment=sparse_reward"])
    assert set(params["sparse_reward"]["algorithm"].split(",")) == {"sft", "grpo", "relift", "superrl"}
    assert (sparse.dataset.name, sparse.dataset.difficulty, sparse.model.base.tasks) == ("hotpotqa_synth", "sparse", ["hotpotqa_synth"])
    assert sparse.rollout.max_new_tokens >= max(len(e.demo) for e in get_task("hotpotqa_synth", difficulty="sparse").load("train"))


def test_the_suite_parts_add_the_kl_dash_and_sparse_cells_and_write_records_under_results_suite():
    main, kl = compose_with_hydra(["experiment=suite"]), compose_with_hydra(["experiment=suite_kl", "algorithm=ppo"])
    sparse = compose_with_hydra(["experiment=suite_sparse"])
    assert (main.hydra.sweep.dir, kl.hydra.sweep.dir, sparse.hydra.sweep.dir) == ("results/suite/main", "results/suite/kl0", "results/suite/sparse")
    assert (sparse.dataset.difficulty, sparse.hydra.sweeper.params["algorithm"]) == ("sparse", "sft,grpo,relift,superrl")
    assert kl.algorithm.kl_coef == 0.0 and kl.hydra.sweeper.params["algorithm"] == "grpo,ppo"
    arms = {arm: compose_with_hydra(["experiment=suite_dash", f"dash={arm}"]) for arm in ("on", "off")}
    assert (arms["on"].rollout.preemptive, arms["on"].train.grad_filter_tau) == (True, 0.1)
    assert (arms["off"].rollout.preemptive, arms["off"].train.grad_filter_tau) == (False, None)
    assert arms["on"].train.micro_batch_size == 8 and arms["on"].train.eval_every > 0 and not arms["on"].eval.base


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("grpo-gsm8k_synth-s0/config.yaml", True), ("grpo-gsm8k_synth-s0/metrics.jsonl", True),
        ("grpo-gsm8k_synth-s0/eval.json", True), ("grpo-gsm8k_synth-s0/status.json", True),
        ("summary.md", True), (".base_evals/0123abcd.json", True),
        ("grpo-gsm8k_synth-s0/samples.jsonl", False), ("grpo-gsm8k_synth-s0/checkpoints/step_000100/config.json", False),
        ("grpo-gsm8k_synth-s0/.hydra/config.yaml", False), ("grpo-gsm8k_synth-s0/app.log", False),
        ("grpo-gsm8k_synth-s0/passk.png", False), ("multirun.yaml", False),
    ],
)
def test_git_keeps_only_the_compact_records_of_a_suite_part(path, kept):
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", f"results/suite/main/{path}"], cwd=REPO).returncode == 0
    assert ignored != kept


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_every_launcher_preset_composes(launcher):
    if importlib.util.find_spec(PLUGIN_OF[launcher]) is None:
        pytest.skip(f"{PLUGIN_OF[launcher]} is not installed")
    cfg = compose_with_hydra([f"hydra/launcher={launcher}"])
    assert cfg.hydra.launcher._target_.startswith(PLUGIN_OF[launcher])


def test_a_gpu_cell_without_its_weights_fails_with_one_clear_message(tmp_path):
    result = bench(
        "experiment=qwen05b_gsm8k", "debug=smoke", "device=cpu", f"dataset.path={REPO / 'tests/fixtures/gsm8k'}",
        f"hydra.run.dir={tmp_path / 'run'}", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert "run not started: 1 input not available" in output and "model Qwen/Qwen2.5-0.5B-Instruct (not in the hub cache" in output
    assert not (tmp_path / "run").exists()
