"""Model and dataset availability: checked before any work, one message naming every missing input, no run dir.

The caches here are real: a checkpoint in huggingface_hub's cache layout and a
dataset prepared by `datasets` itself, which its offline loader reads back.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import constants

from bench.app import compose_config
from bench.availability import InputsUnavailableError, check_inputs, probe_endpoint
from bench.config import ModelConfig
from bench.models import new_tiny_model
from evaluators.tasks import get_task
from tests.cli_helpers import REPO, bench, bench_env
from tests.conftest import SMOKE

FIXTURES = REPO / "tests" / "fixtures"
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens there
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    """An empty HF_HOME, the hub's offline flags cleared; go_offline's changes are undone afterwards."""
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_DATASETS_CACHE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(flag, "")  # recorded first, so the teardown also removes what go_offline sets
        monkeypatch.delenv(flag)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))  # read at import: point the imported copy here too
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return home


def cache_tiny_model(home: Path, repo: str) -> None:
    """A real tiny checkpoint where huggingface_hub keeps `repo`: refs/main -> snapshots/<commit>/."""
    model, tokenizer = new_tiny_model(ModelConfig(), seed=0)
    repo_dir = home / "hub" / f"models--{repo.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(COMMIT)
    model.save_pretrained(repo_dir / "snapshots" / COMMIT)
    tokenizer.save_pretrained(repo_dir / "snapshots" / COMMIT)


def cache_gsm8k(home: Path) -> None:
    """openai/gsm8k (config main) prepared from the fixture rows by `datasets` into its cache, as a hub download leaves it.

    Built under the bare name and moved into the `<owner>___<name>` folder: a builder given a
    repo id refuses data files outside that repo.
    """
    from datasets.packaged_modules.json.json import Json

    staging = home / "staging"
    files = {split: str(FIXTURES / "gsm8k" / f"{split}.jsonl") for split in ("train", "test")}
    Json(dataset_name="gsm8k", config_name="main", config_id="main", hash="fixture", cache_dir=str(staging), data_files=files).download_and_prepare()
    (home / "datasets").mkdir(parents=True)
    (staging / "gsm8k").rename(home / "datasets" / "openai___gsm8k")


def qwen_cell(*overrides: str):
    return compose_config(["experiment=qwen05b_gsm8k", "debug=smoke", *overrides])


def test_offline_the_gpu_cell_names_model_and_dataset_at_once_and_leaves_no_run_dir(tmp_path):
    started = time.perf_counter()
    result = bench("experiment=qwen05b_gsm8k", f"hydra.run.dir={tmp_path / 'run'}", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert "run not started: 2 inputs not available (the Hugging Face Hub is unreachable: HF_HUB_OFFLINE=1 is set)" in output
    assert "model Qwen/Qwen2.5-0.5B-Instruct (not in the hub cache" in output and "set model.path=<checkpoint dir>" in output
    assert "dataset openai/gsm8k main (not in the datasets cache" in output and "set dataset.path=" in output
    assert not (tmp_path / "run").exists()
    assert elapsed < 60, f"{elapsed:.0f}s: the hub was retried"  # imports alone take seconds on a loaded CPU


def test_an_offline_sweep_is_refused_before_its_sweep_dir_exists(tmp_path):
    result = bench("experiment=qwen05b_gsm8k", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}", multirun=True,
                   HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert "sweep not launched: 2 inputs not available" in output and output.count("model Qwen/Qwen2.5-0.5B-Instruct") == 1
    assert not (tmp_path / "sweep").exists()


def test_the_check_itself_takes_well_under_a_second_offline(hf_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = qwen_cell()
    started = time.perf_counter()
    with pytest.raises(InputsUnavailableError, match="2 inputs not available"):
        check_inputs([cfg])
    assert time.perf_counter() - started < 1.0


def test_an_unreachable_endpoint_is_detected_in_seconds(hf_home, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    cfg = qwen_cell()
    started = time.perf_counter()
    with pytest.raises(InputsUnavailableError) as error:
        check_inputs([cfg])
    assert time.perf_counter() - started < 5.0
    assert f"the Hugging Face Hub is unreachable: {CLOSED_PORT} unreachable: ConnectionRefusedError" in str(error.value)
    assert "model Qwen/Qwen2.5-0.5B-Instruct" in str(error.value) and "dataset openai/gsm8k main" in str(error.value)


def test_a_reachable_endpoint_needs_no_cache(hf_home, monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as server:
        endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
        assert probe_endpoint(endpoint) is None
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        check_inputs([qwen_cell()])
    assert "HF_HUB_OFFLINE" not in os.environ, "a reachable hub must not switch the run offline"


def test_missing_local_copies_are_named_with_their_keys(hf_home, tmp_path):
    cfg = qwen_cell(f"model.path={tmp_path / 'no-model'}", f"dataset.path={tmp_path / 'no-data'}")
    with pytest.raises(InputsUnavailableError) as error:
        check_inputs([cfg])
    message = str(error.value)
    assert message.startswith("2 inputs not available: ") and "Hub" not in message  # local copies need no hub
    assert f"model model.path={tmp_path / 'no-model'} (does not exist)" in message
    assert f"dataset dataset.path={tmp_path / 'no-data'} (does not exist)" in message


def test_a_sweep_names_each_missing_input_once(hf_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    jobs = [qwen_cell(f"seed={seed}") for seed in (0, 1, 2)] + [qwen_cell("model.path=Qwen/Qwen2.5-Math-1.5B")]
    with pytest.raises(InputsUnavailableError) as error:
        check_inputs(jobs)
    message = str(error.value)
    assert message.startswith("3 inputs not available") and message.count("openai/gsm8k") == 1
    assert "model Qwen/Qwen2.5-0.5B-Instruct (" in message and "model Qwen/Qwen2.5-Math-1.5B (" in message


def test_each_real_task_names_the_hub_datasets_it_downloads():
    assert get_task("gsm8k").hub_datasets() == [("openai/gsm8k", "main")]
    assert get_task("hotpotqa").hub_datasets() == [("hotpotqa/hotpot_qa", "distractor")]
    assert get_task("math").hub_datasets() == [("HuggingFaceH4/MATH-500", None)]
    assert get_task("math", subsets=["algebra", "geometry"]).hub_datasets() == [
        ("EleutherAI/hendrycks_math", "algebra"), ("EleutherAI/hendrycks_math", "geometry")]
    assert get_task("gsm8k", path=str(FIXTURES / "gsm8k")).hub_datasets() == []  # local files: no hub


def test_cached_inputs_count_as_available_and_switch_the_run_offline(hf_home, monkeypatch):
    cache_tiny_model(hf_home, "acme/tiny")
    cache_gsm8k(hf_home)
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    check_inputs([qwen_cell("model.path=acme/tiny")])
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["HF_DATASETS_OFFLINE"] == "1"
    assert constants.HF_HUB_OFFLINE is True


def test_a_flag_for_datasets_alone_leaves_the_model_to_the_hub(hf_home, monkeypatch):
    cache_tiny_model(hf_home, "acme/tiny")
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(InputsUnavailableError) as error:
        check_inputs([qwen_cell("model.path=acme/tiny")])
    assert str(error.value).startswith("1 input not available (the Hugging Face Hub is unreachable: HF_DATASETS_OFFLINE=1 is set): dataset openai/gsm8k")


def test_a_run_from_cached_inputs_completes_with_the_hub_unreachable(tmp_path):
    """End to end: the check finds both in the caches, the run goes offline and reads them without retrying."""
    home = tmp_path / "hf"
    cache_tiny_model(home, "acme/tiny")
    cache_gsm8k(home)
    env = bench_env(HF_HOME=str(home), HF_ENDPOINT=CLOSED_PORT)
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_DATASETS_CACHE", "TRANSFORMERS_OFFLINE"):
        env.pop(flag, None)
    command = [sys.executable, "-m", "bench.eval", *SMOKE, "model=hf", "model.path=acme/tiny", "dataset=gsm8k",
               "eval.problems=2", f"hydra.run.dir={tmp_path / 'run'}"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert report["dataset"] == "gsm8k" and report["n-problems"] == 2
    assert "Retrying" not in result.stderr and "thrown while requesting" not in result.stderr
