"""A key the schema does not declare is refused, `+` or not, with the closest declared names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.build import ConfigError, check_config
from tests.cli_helpers import bench_env
from tests.conftest import compose_config


@pytest.mark.parametrize(
    "override, suggestion",
    [("+algoritm=sft", "algorithm"), ("+train.stepz=3", "train.steps"), ("+algorithm.eps_hihg=0.3", "algorithm.eps_high")],
)
def test_an_added_key_outside_the_schema_is_refused_with_a_suggestion(override, suggestion):
    with pytest.raises(ConfigError, match=f"did you mean {suggestion}"):
        check_config(compose_config([override]))


def test_keys_may_be_added_where_the_schema_declares_an_open_dict():
    cfg = compose_config(["+dataset.options.my_option=1"])
    check_config(cfg)
    assert cfg.dataset.options.my_option == 1


@pytest.mark.parametrize("override, suggestion", [("+algoritm=sft", "algorithm"), ("+debugg=smoke", "debug")])
def test_the_cli_exits_before_making_a_run_dir(tmp_path, override, suggestion):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "bench", override, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path, env=bench_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert f"did you mean {suggestion}" in result.stderr  # a config group is suggested as well as a schema key
    assert not run_dir.exists()
