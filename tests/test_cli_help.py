"""`python -m bench --help`: the groups a user picks, every knob with its description, fast and torch-free."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from bench.cli_help import field_comments, help_text, print_help
from bench.config import TrainConfig
from tests.cli_helpers import REPO, bench_env


def bench_help(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=120)


def group_line(text: str, group: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"  {group}: "))


def test_help_lists_the_groups_a_user_picks_with_the_selected_option_starred_and_no_schema_groups():
    result = bench_help("--help")
    assert result.returncode == 0, result.stderr
    assert "schema/" not in result.stdout and not any(line.startswith("  schema") for line in result.stdout.splitlines())
    assert "*grpo" in group_line(result.stdout, "algorithm")
    assert "*null" in group_line(result.stdout, "debug") and "smoke" in group_line(result.stdout, "debug")
    assert "parallel" in group_line(result.stdout, "hydra/launcher")


def test_every_knob_shows_its_value_and_the_comment_it_is_declared_with():
    text = help_text([])
    knob = next(line for line in text.splitlines() if line.strip().startswith("train.steps = "))
    assert knob.split("#", 1)[1].strip() == "rollout + update steps" == field_comments(TrainConfig)["steps"]
    assert knob.split("=", 1)[1].split("#")[0].strip() == "100"
    inherited = next(line for line in text.splitlines() if line.strip().startswith("algorithm.dynamic_sampling = false"))
    assert "# DAPO: drop groups" in inherited  # declared on GroupSampling, which GRPOConfig extends


def test_help_describes_the_config_its_overrides_compose():
    result = bench_help("algorithm=ppo", "train.steps=7", "-h")
    assert result.returncode == 0, result.stderr
    assert "*ppo" in group_line(result.stdout, "algorithm")
    assert "algorithm.critic = separate" in result.stdout and "algorithm.norm_adv_by_std" not in result.stdout
    assert "train.steps = 7 " in result.stdout


def test_a_sweep_is_described_by_its_first_job():
    out = io.StringIO()
    assert print_help(["-m", "seed=3,4"], out) == 0
    assert "  seed = 3 " in out.getvalue() and "sweep: seed=3,4" in out.getvalue()


@pytest.mark.parametrize(
    "override, suggestion",
    [("train.stepz=3", "train.steps"), ("+train.stepz=3", "train.steps"), ("algoritm=sft", "algorithm")],
)
def test_an_undeclared_key_is_refused_with_the_closest_knob(override, suggestion):
    result = bench_help(override, "--help")
    assert result.returncode == 1
    assert f"did you mean {suggestion}?" in result.stderr and result.stdout == ""


def test_help_and_cfg_do_not_import_torch():
    script = (
        "import sys\nfrom bench.app import main\n"
        "sys.argv = ['bench', {flag!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n"
    )
    for flag in ("--help", "--cfg=job"):
        result = subprocess.run([sys.executable, "-c", script.format(flag=flag)], cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=120)
        assert "torch imported: False" in result.stderr, result.stderr[-2000:]
        assert "train:" in result.stdout or "train.steps" in result.stdout


def test_hydra_help_is_still_hydras():
    result = bench_help("--hydra-help")
    assert result.returncode == 0, result.stderr
    assert "--multirun" in result.stdout and "--shell-completion" in result.stdout


def test_tab_completion_answers_with_the_options_and_knobs():
    """What Hydra's bash script (`rlvr-bench -sc install=bash`, README) asks on each Tab."""
    for line, expected in [("rlvr-bench algorithm=p", {"algorithm=ppo", "algorithm=psr"}), ("rlvr-bench train.st", {"train.steps="})]:
        env = bench_env(COMP_LINE=line, COMP_POINT=str(len(line)))
        result = subprocess.run([sys.executable, "-m", "bench", "-sc", "query=bash"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert set(result.stdout.split()) == expected, result.stderr[-2000:]
