"""The wheel is complete: every package, the Hydra configs and the baselines ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CODE = ("bench", "algorithms", "evaluators")


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(p.parent.relative_to(REPO)).replace("/", ".") for top in CODE for p in (REPO / top).rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"


def run(command: list[str], cwd: Path, env: dict) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.slow
def test_the_installed_wheel_runs_from_an_empty_directory(tmp_path):
    """Built, installed non-editable into a fresh venv, run where no source tree is in sight."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(REPO)], tmp_path, env)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], tmp_path, env)  # the CPU wheel first
    run([python, "-m", "pip", "install", "-q", *map(str, (tmp_path / "dist").glob("*.whl"))], tmp_path, env)
    work = tmp_path / "empty"
    work.mkdir()
    env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "OMP_NUM_THREADS": "1"}
    run([python, "-m", "bench", "debug=smoke", "hydra.run.dir=runs/train"], work, env)
    assert "algorithm" in run([str(venv / "bin" / "rlvr-bench"), "--help"], work, env)
    run([python, "-m", "bench.regress", "--graders-only"], work, env)
    refused = subprocess.run([python, "-m", "bench.regress", "--update", "--graders-only"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "run it from a clone" in refused.stderr  # never writes into site-packages
    run([python, "-m", "bench.eval", "debug=smoke", "hydra.run.dir=runs/eval"], work, env)
    run([python, "-m", "bench.report", "runs"], work, env)
    site = run([python, "-c", "import bench, sys; print(bench.__file__)"], work, env)
    assert str(REPO) not in site  # the installed copy, not the checkout
    assert (work / "runs" / "train" / "eval.json").exists() and (work / "runs" / "eval" / "eval.json").exists()
