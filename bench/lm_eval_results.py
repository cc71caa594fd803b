"""eval.json restated in lm-eval's results schema, so lm-eval's own tools read our numbers.

lm-eval (EleutherAI/lm-evaluation-harness, v0.4.13) writes `results/{task}/{"metric,filter"}`
with `"metric_stderr,filter"` beside each value, task versions under `versions`, and
`n-samples {original, effective}` (lm_eval/evaluator_utils.py, `EvalAcc._to_eval_results`;
typed in lm_eval/result_schema.py); `lm_eval.utils.make_table` prints that. Our
`versions` holds package versions, so eval.json itself cannot be that file.

Filters: lm-eval names an extraction pipeline by a filter. Our GSM8K strict and
flexible modes are its `strict-match` (first `#### N`) and `flexible-extract` (last
number) filters of lm_eval/tasks/gsm8k/gsm8k.yaml (tests/test_lm_eval_gsm8k_agreement.py
checks them item by item); every other grader reads the whole completion: `none`.

Secondary columns (the scorer's `extra`: GSM8K's other mode, MATH's Hendrycks match
and grader timeouts, HotpotQA's F1) are averaged over all n samples of a problem and
reported like mean@n, with the problem as the unit of the standard error.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence

from evaluators.passk import mean_and_stderr

GSM8K_FILTERS = {"strict": "strict-match", "flexible": "flexible-extract"}  # our mode -> lm-eval's filter
LOWER_IS_BETTER = {"timeout"}  # secondary columns that count failures
NO_STDERR = "N/A"  # lm-eval's stderr when there is none (a single problem)


def lm_eval_results(report: dict, task, samples: Sequence[dict], split_size: int) -> dict:
    """The lm-eval results dict of one evaluation; `report` is its eval.json, `samples`
    its samples.jsonl records, `split_size` the number of problems in the test split."""
    name, n = report["dataset"], report["n"]
    primary = GSM8K_FILTERS.get(getattr(task, "match", None), "none")
    metrics = {f"{key},{primary}": value for key, value in report["results"][name].items()}
    higher_is_better = dict(report["higher_is_better"][name])
    for metric, filter_name, value, se in secondary_columns(samples, n, primary):
        metrics.update({f"{metric},{filter_name}": value, f"{metric}_stderr,{filter_name}": se})
        higher_is_better[metric] = metric not in LOWER_IS_BETTER
    sampling = report["sampling"]
    gen_kwargs = {
        "do_sample": sampling["temperature"] > 0,
        "temperature": sampling["temperature"],
        "top_p": sampling["top_p"],
        "max_gen_toks": sampling["max_new_tokens"],
    }
    few_shot = getattr(task, "few_shot", 0)
    filters = sorted({key.partition(",")[2] for key in metrics})
    model = report["config"]["model"]
    model_name = model.get("path") or model["name"]
    return {
        "results": {name: {"alias": name, "name": name, "sample_len": report["n-problems"], **without_nan(metrics)}},
        "group_subtasks": {name: []},
        "configs": {
            name: {
                "task": name,
                "test_split": "test",
                "output_type": "generate_until",
                "num_fewshot": few_shot,
                "repeats": n,  # lm-eval's samples per document
                "generation_kwargs": gen_kwargs,
                "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": h} for m, h in higher_is_better.items()],
                "filter_list": [{"name": f} for f in filters],
                "dataset": report["config"]["dataset"],
                "metadata": {"version": report["task"]["version"], "k": report["k"]},
            }
        },
        "versions": {name: report["task"]["version"]},
        "n-shot": {name: few_shot},
        "higher_is_better": {name: higher_is_better},
        "n-samples": {name: {"original": split_size, "effective": report["n-problems"]}},
        "config": {
            "model": model_name,
            "model_args": model,
            "label": report["algorithm"],  # what eval.json calls the policy: a training run's algorithm
            "device": report["device"],
            "limit": report["n-problems"],
            "bootstrap_iters": 0,  # stderrs are analytic: sd over problems / sqrt(P)
            "gen_kwargs": gen_kwargs,
            "random_seed": report["seed"],
            "numpy_seed": report["seed"],
            "torch_seed": report["seed"],
            "sampling_seed": sampling["seed"],
        },
        "git_hash": report["git_hash"],
        "date": datetime.datetime.fromisoformat(report["date"]).timestamp(),  # lm-eval: a UNIX time
        "transformers_version": report["versions"].get("transformers"),
        "package_versions": report["versions"],
        "model_name": model_name,
    }


def secondary_columns(samples: Sequence[dict], n: int, primary: str) -> list[tuple[str, str, float, float]]:
    """(metric, filter, mean, stderr) of each numeric `extra` column of the scorer; a GSM8K
    mode is mean@n under its filter, less the one the primary metrics already report."""
    first = samples[0]["extra"][0] if samples and samples[0]["extra"] else {}
    out = []
    for column in (c for c, v in first.items() if isinstance(v, (bool, int, float))):
        metric, filter_name = (f"mean@{n}", GSM8K_FILTERS[column]) if column in GSM8K_FILTERS else (column, "none")
        if (metric, filter_name) == (f"mean@{n}", primary):
            continue
        per_problem = [sum(float(extra[column]) for extra in record["extra"]) / len(record["extra"]) for record in samples]
        out.append((metric, filter_name, *mean_and_stderr(per_problem)))
    return out


def without_nan(metrics: dict[str, float]) -> dict[str, float | str]:
    """A stderr that is not a number (one problem) becomes lm-eval's "N/A"."""
    return {k: NO_STDERR if isinstance(v, float) and math.isnan(v) else v for k, v in metrics.items()}
