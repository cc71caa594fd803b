"""One run over two processes (torchrun, gloo on the CPU) trains and evaluates as one process does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import REPO, bench, bench_env, metrics_rows, weights
from tests.conftest import SMOKE

# Two mini-batches of two prompts, micro-batches of 4 sequences: stored old log-probs, the KL reference,
# the entropy bonus and gradient accumulation all take part; each process trains one prompt per mini-batch.
GRPO = [
    "threads=1", "algorithm=grpo", "algorithm.entropy_coef=0.01", "algorithm.kl_coef=0.001", "train.steps=3",
    "train.mini_batch_prompts=2", "train.micro_batch_size=4",
]
PPO = ["threads=1", "algorithm=ppo", "train.steps=3", "train.mini_batch_prompts=2", "train.micro_batch_size=4"]
SFT = ["threads=1", "algorithm=sft", "train.steps=3", "train.micro_batch_size=1"]
# an SFT step every step: the smoke base fails most groups, and two all-fail questions fill the buffer
RELIFT = ["threads=1", "algorithm=relift", "algorithm.sft_batch=2", "train.steps=3", "train.mini_batch_prompts=2", "train.micro_batch_size=4"]
FINAL = "checkpoints/step_000003"


def torchrun_command(*overrides: str, processes: int = 2) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
        "-m", "bench", *SMOKE, *overrides,
    ]


def torchrun(*overrides: str, processes: int = 2, **env: str) -> subprocess.CompletedProcess:
    command = torchrun_command(*overrides, processes=processes)
    return subprocess.run(command, cwd=REPO, env=bench_env(**env), capture_output=True, text=True, timeout=600)


def assert_close_rows(one: list[dict], two: list[dict], rel: float = 1e-5) -> None:
    assert [r["step"] for r in one] == [r["step"] for r in two]
    for a, b in zip(one, two):
        assert a.keys() == b.keys()
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=rel, abs=1e-7), f"step {a['step']}: {key}"


@pytest.fixture(scope="module")
def one_process_grpo(tmp_path_factory) -> Path:
    one = tmp_path_factory.mktemp("one-process") / "grpo"
    single = bench(*GRPO, f"hydra.run.dir={one}")
    assert single.returncode == 0, single.stderr[-3000:]
    return one


def assert_same_run(one: Path, two: Path) -> None:
    """Metrics within 1e-5 relative, final weights within float tolerance, evaluations and samples identical."""
    rows_one, rows_two = metrics_rows(one), metrics_rows(two)
    assert any(k.startswith("loss/") for k in rows_one[0])
    assert_close_rows(rows_one, rows_two)
    w1, w2 = weights(one / FINAL), weights(two / FINAL)
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-5, atol=1e-6, msg=name)
    # the evaluation is sharded over the two processes and gathered: the same draws, the same numbers
    eval_one, eval_two = (json.loads((d / "eval.json").read_text()) for d in (one, two))
    assert eval_two["base_results"] == eval_one["base_results"]
    assert eval_two["results"] == eval_one["results"]
    samples_one, samples_two = ((d / "samples.jsonl").read_text() for d in (one, two))
    assert samples_two == samples_one


@pytest.mark.parametrize("sharding", ["none", "fsdp"])
def test_two_processes_train_and_evaluate_as_one(one_process_grpo, tmp_path, sharding):
    """Replicated, or FSDP2-sharded (the KL reference too): the one-process run's numbers."""
    two = tmp_path / "two"
    double = torchrun(*GRPO, f"sharding={sharding}", f"hydra.run.dir={two}")
    assert double.returncode == 0, double.stderr[-3000:]
    assert_same_run(one_process_grpo, two)
    assert any(k.startswith("rollout/") for k in metrics_rows(two)[0])
    # rank 0 alone wrote the run files; rank 1 kept a log of its own
    assert (two / "app_rank1.log").exists() and "app_rank1" not in (two / ".hydra" / "hydra.yaml").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "sharding"), [(PPO, "none"), (PPO, "fsdp"), (SFT, "none"), (RELIFT, "fsdp")], ids=["ppo", "ppo-fsdp", "sft", "relift-fsdp"]
)
def test_ppo_sft_and_relift_on_two_processes_train_as_on_one(tmp_path, overrides, sharding):
    """PPO adds the critic: its values are computed per process and gathered, its loss and steps summed
    (sharded: the critic too, and its reward-KL reference).
    SFT's token-mean NLL counts every process's demonstration tokens. ReLIFT, sharded, steps its separate
    SFT optimizer on the reduced gradient shards every step. The 2-process run goes first, on an empty
    cache: rank 0 builds the base (moving its RNG), yet the value head is drawn alike on both ranks."""
    one, two, cache = tmp_path / "one", tmp_path / "two", str(tmp_path / "cache")
    double = torchrun(*overrides, f"sharding={sharding}", f"hydra.run.dir={two}", RLVR_BENCH_CACHE=cache)
    assert double.returncode == 0, double.stderr[-3000:]
    single = bench(*overrides, f"hydra.run.dir={one}", RLVR_BENCH_CACHE=cache)
    assert single.returncode == 0, single.stderr[-3000:]
    assert_same_run(one, two)
    if overrides is RELIFT:
        assert metrics_rows(one)[-1]["train/sft_steps"] == 3  # its SFT optimizer stepped at every step


@pytest.mark.slow
def test_a_sweep_job_of_two_submitit_tasks_is_one_run_over_two_processes(one_process_grpo, tmp_path):
    """`hydra.launcher.tasks_per_node=2` (submitit's local executor standing in for Slurm): the two tasks
    of the sweep's job form one process group and train as one process does."""
    sweep = tmp_path / "sweep"
    result = bench(
        *GRPO, "hydra/launcher=submitit_local", "hydra.launcher.tasks_per_node=2", f"hydra.sweep.dir={sweep}",
        multirun=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    job = sweep / "grpo-gsm8k_synth-s0"
    assert len(list((sweep / ".submitit").glob("*/*_1_log.out"))) == 1  # a second task ran
    assert_same_run(one_process_grpo, job)


@pytest.mark.parametrize("sharding", ["none", pytest.param("fsdp", marks=pytest.mark.slow)])
def test_a_killed_two_process_run_resumes_on_two_processes(one_process_grpo, tmp_path, sharding):
    """Killed after its first checkpoint, resumed on two processes: the one-process run's rows and numbers.
    Sharded, the checkpoint holds the weights and AdamW moments gathered whole, and resuming re-shards them."""
    train = [*GRPO, f"sharding={sharding}", "train.save_every=1", "train.keep_checkpoints=2"]
    out = tmp_path / "killed"
    process = subprocess.Popen(torchrun_command(*train, f"hydra.run.dir={out}"), cwd=REPO, env=bench_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (out / "status.json").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    # torchrun and its workers (each in a session of its own), as a scheduler ending the job would
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    for pid in [process.pid, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)
    process.wait()
    assert not (out / "eval.json").exists(), "the run finished before it could be killed"

    result = torchrun(*train, f"hydra.run.dir={out}", "resume=auto")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (out / "app.log").read_text()
    assert [row["step"] for row in metrics_rows(out)] == [1, 2, 3]
    assert_close_rows(metrics_rows(one_process_grpo), metrics_rows(out))
    assert json.loads((out / "eval.json").read_text())["results"] == json.loads((one_process_grpo / "eval.json").read_text())["results"]


def test_a_rank_that_raises_ends_the_job(tmp_path):
    """A reward function that fails on rank 1 only: rank 0 waits in the rollout gather until torchrun ends it."""
    (tmp_path / "flaky_reward.py").write_text(
        "import os\n"
        "def reward(completion, row):\n"
        "    if os.environ['RANK'] == '1':\n"
        "        raise RuntimeError('reward server unreachable on rank 1')\n"
        "    return 0.0, False, None\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        rows = [{"id": f"{split}{i}", "prompt": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(8)]
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    started = time.monotonic()
    result = torchrun(
        "dataset=jsonl", f"dataset.path={data}", f"dataset.reward={tmp_path / 'flaky_reward.py'}:reward",
        "eval.base=false", f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 60
    assert "reward server unreachable on rank 1" in result.stderr
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "failed" and "reward server unreachable on rank 1" in status["error"]


def test_bench_eval_on_two_processes_equals_one(gsm8k_synth_eval, tmp_path):
    """`torchrun -m bench.eval`: 60 problems sharded 30/30 and gathered give the one-process eval.json."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "bench.eval",
        *SMOKE, "threads=1", "eval.problems=60", "rollout.max_new_tokens=32", f"hydra.run.dir={tmp_path}",
    ]
    result = subprocess.run(command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = (json.loads((d / "eval.json").read_text()) for d in (gsm8k_synth_eval, tmp_path))
    assert two["results"] == one["results"]
    assert (tmp_path / "samples.jsonl").read_text() == (gsm8k_synth_eval / "samples.jsonl").read_text()
