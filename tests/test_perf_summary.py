"""The benchmark's time-to-target summaries, on hand-made per-seed runs."""

import pytest
import torch

from bench.perf import format_table, medians, memory_rows, trl_summary


def run(seconds: float | None, trained: float, steps: int | None = 10) -> dict:
    return {"steps": steps if seconds else None, "seconds": seconds, "trained_seconds": trained, "pass@1": 0.4, "pass@1_stderr": 0.01}


def test_a_missed_target_counts_as_slower_than_any_reached_one():
    assert medians([run(10, 10), run(None, 50), run(30, 30)])["seconds"] == 30
    assert medians([run(10, 10), run(None, 50), run(None, 60)])["seconds"] is None


def test_the_trl_ratio_is_the_median_of_per_seed_ratios():
    ours = [run(100, 100), run(50, 50), run(80, 80)]
    theirs = [run(400, 400), run(200, 200), run(100, 100)]
    row = trl_summary(ours, theirs, 0.38)[1]
    assert row["seed_ratios"] == pytest.approx([0.25, 0.25, 0.8])
    assert row["ratio"] == pytest.approx(0.25) and not row["ratio_is_upper_bound"]


def test_a_seed_where_trl_missed_gives_an_upper_bound():
    ours = [run(100, 100), run(100, 100), run(100, 100)]
    theirs = [run(None, 200), run(150, 150), run(None, 210)]
    row = trl_summary(ours, theirs, 0.38)[1]
    assert row["ratio"] == pytest.approx(100 / 200) and row["ratio_is_upper_bound"]


def test_no_ratio_when_we_missed_the_target():
    row = trl_summary([run(None, 100), run(100, 100)], [run(50, 50), run(50, 50)], 0.38)[1]
    assert row["ratio"] is None and not row["ratio_is_upper_bound"]


def test_the_memory_rows_give_the_peak_and_the_peak_after_each_section():
    rows = memory_rows(torch.device("cpu"), [("imports and config", 400.0), ("rollout", 900.0), ("step", 950.0)])
    assert [(row["name"], row["mib"]) for row in rows] == [
        ("peak process RSS", 950.0), ("  after imports and config", 400.0), ("  after rollout", 900.0), ("  after step", 950.0),
    ]
    assert "900 MiB" in format_table(rows).splitlines()[3]
