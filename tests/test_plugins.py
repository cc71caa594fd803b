"""Your own task, reward and algorithm, from your own files, through the real CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.build import ConfigError, check_config
from bench.plugins import load_function, plugins_from_argv
from tests.cli_helpers import REPO, bench_env
from tests.conftest import SMOKE, compose_config

REWARD = """
def reward(completion, row):
    answer = completion.split("####")[-1].strip()
    return float(answer == row["answer"]), answer == row["answer"], answer or None
"""
# A task and an algorithm of the user's: registered on import, configured by the user's own yaml.
PLUGIN = """
from dataclasses import dataclass
from algorithms.grpo import GRPO
from algorithms.registry import register_algorithm
from evaluators.tasks import register_task
from evaluators.tasks.jsonl import JSONLTask

CALLS = []

def exact(completion, row):
    answer = completion.split("####")[-1].strip()
    return float(answer == row["answer"]), answer == row["answer"], answer or None

@register_task("sums")
@dataclass
class Sums(JSONLTask):
    reward: object = exact
    name: str = "sums"

@register_algorithm("loud_grpo")
class LoudGRPO(GRPO):
    def update(self, examples, rollouts):
        metrics = super().update(examples, rollouts)
        return {**metrics, "plugin/updates": 1.0}
"""


def rows(path: Path) -> Path:
    rng = random.Random(0)
    for split, count in (("train", 40), ("test", 12)):
        with (path / f"{split}.jsonl").open("w") as out:
            for i in range(count):
                a, b = rng.randint(1, 9), rng.randint(1, 9)
                out.write(json.dumps({"id": f"{split}{i}", "prompt": f"What is {a} + {b}?", "answer": str(a + b)}) + "\n")
    return path


def bench(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench", *SMOKE, *args]
    return subprocess.run(command, cwd=cwd, env=bench_env(), capture_output=True, text=True, timeout=600)


def test_a_jsonl_dataset_with_a_reward_file_trains_and_evaluates(tmp_path):
    (tmp_path / "my_reward.py").write_text(REWARD)
    run = tmp_path / "run"
    result = bench("dataset=jsonl", f"dataset.path={rows(tmp_path)}", f"dataset.reward={tmp_path / 'my_reward.py'}:reward", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "eval.json").read_text())
    assert "pass@1" in report["results"]["jsonl"]
    samples = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    first = samples[0]  # the user's function scored it: its extracted answer is the text after '####'
    assert first["extracted"] == [c.split("####")[-1].strip() or None for c in first["completions"]]


def test_a_plugin_task_and_algorithm_with_user_configs(tmp_path):
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    (tmp_path / "conf" / "dataset").mkdir(parents=True)
    (tmp_path / "conf" / "algorithm").mkdir()
    (tmp_path / "conf" / "dataset" / "sums.yaml").write_text(textwrap.dedent(f"""\
        defaults:
          - /schema/dataset/dataset@_here_
          - _self_
        name: sums
        path: {rows(tmp_path)}
        base_task: gsm8k_synth
        """))
    (tmp_path / "conf" / "algorithm" / "loud_grpo.yaml").write_text("defaults:\n  - /schema/algorithm/grpo@_here_\n  - _self_\nname: loud_grpo\n")
    run = tmp_path / "run"
    result = bench(
        f"plugins=[{tmp_path / 'my_plugin.py'}]", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        "dataset=sums", "algorithm=loud_grpo", f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m.get("plugin/updates") for m in steps if "step" in m and "plugin/updates" in m] == [1.0, 1.0]
    assert "pass@1" in json.loads((run / "eval.json").read_text())["results"]["sums"]


def test_plugins_are_read_from_the_command_line_as_hydra_parses_them():
    assert plugins_from_argv(["train.steps=2", "plugins=[a.b,./c.py]"]) == ["a.b", "./c.py"]
    assert plugins_from_argv(["+plugins=x.py"]) == ["x.py"]
    assert plugins_from_argv(["train.steps=2"]) == []


def test_a_bad_reward_or_plugin_fails_before_any_work_naming_the_key(tmp_path):
    (tmp_path / "my_reward.py").write_text(REWARD)
    base = ["dataset=jsonl", f"dataset.path={rows(tmp_path)}"]
    with pytest.raises(ConfigError, match="dataset=jsonl needs dataset.reward"):
        check_config(compose_config(base))
    with pytest.raises(ConfigError, match="dataset.reward: .* has no function 'score'"):
        check_config(compose_config([*base, f"dataset.reward={tmp_path / 'my_reward.py'}:score"]))
    with pytest.raises(ConfigError, match="dataset.reward must be 'module:function'"):
        check_config(compose_config([*base, "dataset.reward=my_reward"]))
    with pytest.raises(ConfigError, match="dataset.reward is read only by dataset=jsonl"):
        check_config(compose_config([f"dataset.reward={tmp_path / 'my_reward.py'}:reward"]))
    with pytest.raises(ConfigError, match="plugins: cannot import 'no_such_module_here'"):
        load_function("no_such_module_here:f", "plugins")
    result = bench("plugins=[no_such_plugin_module]")
    assert result.returncode != 0 and "no_such_plugin_module" in result.stderr
