"""Time-to-target thresholds: parsing `--target`, resolving relative levels against
each dataset's base, and what the leaderboard and figures then say."""

from __future__ import annotations

import argparse
import math

import pandas as pd
import pytest

from bench.report.__main__ import main
from bench.report.load import load_runs
from bench.report.markdown import leaderboard_markdown
from bench.report.summary import time_to_target
from bench.report.tables import leaderboard
from bench.report.target import Level, Threshold, parse_target, resolve_thresholds
from tests.report_helpers import DATASET, write_run


def test_parse_target_default_overrides_and_relative_levels():
    spec = parse_target("0.38, math_synth=+0.01,gsm8k_synth-hard=0.02")
    assert spec.default == Level(0.38, relative=False)
    assert spec.level("math_synth") == Level(0.01, relative=True)
    assert spec.level("gsm8k_synth-hard") == Level(0.02, relative=False)
    assert spec.level("hotpotqa_synth") == spec.default
    assert parse_target("math_synth=0.1").default == Level(0.05, relative=True)  # no bare level: DEFAULT_SPEC


@pytest.mark.parametrize("text, message", [
    ("0.4x", "is not a number"),
    ("1.5", "lies in [0, 1]"),
    ("=0.3", "names no dataset"),
    ("0.3,0.4", "sets the default twice"),
    ("math_synth=0.1,math_synth=+0.1", "sets math_synth twice"),
    ("math_synth=", "is not a number"),
])
def test_parse_target_rejects_bad_specs_by_name(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_target(text)


def steps(evals: dict[int, float]) -> list[dict]:
    return [{"step": s, "time/step": 2.0, "rollout/reward_mean": 0.1} | ({f"eval/{DATASET}/pass@1": evals[s]} if s in evals else {}) for s in range(1, 5)]


def test_relative_target_is_the_base_mean_plus_delta(tmp_path):
    # base pass@1 0.2 (seed 0) and 0.4 (seed 1): mean 0.3, so +0.1 means pass@1 0.4
    write_run(tmp_path, "grpo", 0, {1: (0.5, 0.01)}, {1: (0.2, 0.01)}, steps=steps({2: 0.35, 3: 0.45}))  # first >= 0.4 at step 3
    write_run(tmp_path, "grpo", 1, {1: (0.5, 0.01)}, {1: (0.4, 0.01)}, steps=steps({2: 0.4}))  # at step 2
    runs = load_runs([tmp_path])
    thresholds, notes = resolve_thresholds(parse_target("+0.1"), runs.results)
    assert notes == []
    threshold = thresholds["tiny", DATASET]
    assert threshold.value == pytest.approx(0.4) and threshold.base == pytest.approx(0.3)
    assert str(threshold) == "0.4 = base 0.300 + 0.1"

    times = time_to_target(runs.curves, runs.results, thresholds).set_index(["seed", "metric"]).value
    assert times[(0, "steps_to_target")] == 3 and times[(1, "steps_to_target")] == 2
    assert times[(0, "wall_to_target")] == pytest.approx(6.0)
    markdown = leaderboard_markdown(leaderboard(pd.concat([runs.results, time_to_target(runs.curves, runs.results, thresholds)]), [1], thresholds))
    assert "steps to target" in markdown and f"target pass@1 ({DATASET} 0.4 = base 0.300 + 0.1)" in markdown


def test_a_relative_target_without_a_base_is_not_measured_and_said(tmp_path):
    write_run(tmp_path, "grpo", 0, {1: (0.5, 0.01)}, steps=steps({2: 0.6}))  # eval.base=false: no base rows
    runs = load_runs([tmp_path])
    thresholds, notes = resolve_thresholds(parse_target("+0.1,math_synth=0.2"), runs.results)
    assert thresholds == {}
    assert notes == [
        f"time to target: {DATASET} (tiny) has no base evaluation, so no target at base +0.1; not measured.",
        "time to target: --target names math_synth, which no run trained on.",
    ]
    assert time_to_target(runs.curves, runs.results, thresholds).empty

    absolute, _ = resolve_thresholds(parse_target("0.55"), runs.results)
    assert absolute == {("tiny", DATASET): Threshold(0.55)}
    times = time_to_target(runs.curves, runs.results, absolute).set_index("metric").value
    assert times["steps_to_target"] == 2 and not math.isinf(times["wall_to_target"])


def test_cli_rejects_a_bad_target_before_reading_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--target", "gsm8k_synth=1.5"])
    assert exit_info.value.code == 2
    assert "target level '1.5': an absolute pass@1 lies in [0, 1]" in capsys.readouterr().err
