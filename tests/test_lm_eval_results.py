"""results_lm_eval.json: a real evaluation's eval.json in lm-eval's results schema,
read back by lm-eval's own make_table (the `interop` extra) with our values and SEs."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pytest

from bench.lm_eval_results import lm_eval_results
from evaluators.passk import ProblemResult, summarize

TASK = "gsm8k_synth"  # graded strict by default: lm-eval's strict-match filter
LM_EVAL_KEYS = {"results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config", "git_hash", "date"}


def read(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name).read_text())


def samples_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_results_lm_eval_restates_eval_json_in_lm_evals_schema(gsm8k_synth_eval):
    report, lm = read(gsm8k_synth_eval, "eval.json"), read(gsm8k_synth_eval, "results_lm_eval.json")
    assert LM_EVAL_KEYS <= lm.keys()
    assert lm["versions"] == {TASK: report["task"]["version"]}
    assert lm["n-samples"] == {TASK: {"original": 500, "effective": 60}}
    assert lm["n-shot"] == {TASK: 0} and lm["configs"][TASK]["repeats"] == report["n"] == 4
    assert lm["git_hash"] == report["git_hash"]
    assert lm["date"] == datetime.datetime.fromisoformat(report["date"]).timestamp()
    row = lm["results"][TASK]
    assert row["alias"] == TASK and row["sample_len"] == 60
    for key, value in report["results"][TASK].items():
        assert row[f"{key},strict-match"] == value
    metrics = [key for key in row if "," in key and not key.partition(",")[0].endswith("_stderr")]
    for key in metrics:
        metric, _, filter_name = key.partition(",")
        assert f"{metric}_stderr,{filter_name}" in row, key
        assert lm["higher_is_better"][TASK][metric] is True
    # the other GSM8K mode is a secondary column: mean@n under lm-eval's flexible-extract
    flexible = [np.mean([extra["flexible"] for extra in record["extra"]]) for record in samples_of(gsm8k_synth_eval)]
    assert row["mean@4,flexible-extract"] == pytest.approx(np.mean(flexible))
    assert row["mean@4_stderr,flexible-extract"] == pytest.approx(np.std(flexible, ddof=1) / np.sqrt(len(flexible)))
    assert "mean@4,strict-match" in row and "mean@4,none" not in row
    assert [f["name"] for f in lm["configs"][TASK]["filter_list"]] == ["flexible-extract", "strict-match"]


def test_a_missing_stderr_is_lm_evals_n_a(gsm8k_synth_eval):
    report, samples = read(gsm8k_synth_eval, "eval.json"), samples_of(gsm8k_synth_eval)[:1]
    one = ProblemResult(samples[0]["id"], samples[0]["correct"], samples[0]["extracted"])
    report["results"][TASK], report["n-problems"] = summarize([one], report["k"]), 1
    row = lm_eval_results(report, object(), samples, split_size=500)["results"][TASK]
    assert row["pass@1_stderr,none"] == "N/A" and isinstance(row["pass@1,none"], float)
    # a task without a GSM8K match mode: both modes are secondary columns
    assert row["mean@4_stderr,strict-match"] == row["mean@4_stderr,flexible-extract"] == "N/A"


def test_lm_evals_make_table_shows_our_values_and_stderrs(gsm8k_synth_eval):
    lm_eval_utils = pytest.importorskip("lm_eval.utils")
    from lm_eval.result_schema import EvalResults, _SampleCount

    report, lm = read(gsm8k_synth_eval, "eval.json"), read(gsm8k_synth_eval, "results_lm_eval.json")
    assert lm.keys() - EvalResults.__annotations__.keys() == {"package_versions"}  # lm-eval's `versions` are task versions
    assert lm["n-samples"][TASK].keys() == _SampleCount.__annotations__.keys()
    table = lm_eval_utils.make_table(lm)
    # | Tasks | Version | Filter | n-shot | Metric | hib | Value | ± | Stderr |
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()[2:]]
    assert rows[0][:2] == [TASK, report["task"]["version"]]
    shown = {(row[2], row[4]): (row[5], float(row[6]), row[7], float(row[8])) for row in rows}
    ours = report["results"][TASK]
    for metric in (key for key in ours if not key.endswith("_stderr")):
        # printed to 4 places (pytablewriter drops the zeros of an all-zero column)
        expected = ("↑", pytest.approx(ours[metric], abs=5e-5), "±", pytest.approx(ours[metric + "_stderr"], abs=5e-5))
        assert shown[("strict-match", metric)] == expected, metric
    assert ("flexible-extract", "mean@4") in shown
    assert len(rows) == len(ours) // 2 + 1


def test_math_secondary_columns_hendrycks_and_timeouts_lower_is_better(gsm8k_synth_eval):
    from evaluators.grading import math as math_grading

    problems = {"\\frac{1}{2}": ["so \\boxed{\\frac{1}{2}}", "so \\boxed{2/4}"], "3": ["no box", "\\boxed{3}"]}
    samples, results = [], []
    for index, (gold, completions) in enumerate(problems.items()):
        scores = [math_grading.score(c, gold) for c in completions]
        samples.append({"extra": [s.extra for s in scores]})
        results.append(ProblemResult(str(index), [s.correct for s in scores], [s.extracted for s in scores]))
    report = read(gsm8k_synth_eval, "eval.json")
    metrics = summarize(results, [1, 2])
    report.update(dataset="math", n=2, k=[1, 2], results={"math": metrics}, higher_is_better={"math": {k: True for k in metrics if not k.endswith("_stderr")}})
    lm = lm_eval_results(report, object(), samples, split_size=500)
    row = lm["results"]["math"]
    assert row["pass@1,none"] == pytest.approx(0.75)  # math-verify: 1/2 = 2/4
    assert row["hendrycks,none"] == pytest.approx(0.5)  # the string match misses 2/4 and the unboxed answer
    assert row["timeout,none"] == 0.0 and "timeout_stderr,none" in row
    assert lm["higher_is_better"]["math"]["timeout"] is False and lm["higher_is_better"]["math"]["hendrycks"] is True
