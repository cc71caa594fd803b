"""bench.perf's `job` section on a real smoke job: every phase timed, the parts adding up to the process's wall time."""

from __future__ import annotations

import pytest

from bench.perf_job import job_rows
from tests.conftest import SMOKE


def test_a_jobs_phases_add_up_to_its_wall_time():
    rows = job_rows([*SMOKE, "threads=1"])
    seconds = {row["name"]: row["seconds"] for row in rows}
    assert list(seconds) == [
        "build (pre-train base, load)", "base eval", "train: generate", "train: score", "train: update",
        "train: logs, saves, evals", "final eval", "write", "setup between phases",
        "start, imports, config",
    ]
    assert all(value >= 0 for value in seconds.values()), seconds
    assert sum(row["ratio"] for row in rows) == pytest.approx(1.0)
    # a fresh cache: the tiny base is pre-trained (20 steps), which costs more than loading it
    assert seconds["build (pre-train base, load)"] > seconds["write"]
    assert seconds["train: generate"] > 0 and seconds["train: update"] > 0 and seconds["final eval"] > 0
