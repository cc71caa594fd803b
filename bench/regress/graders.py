"""Exact check of the graders: frozen completions must keep their golden scores.

results/baselines/graders.json holds completions frozen once (hand-written edge
cases from tricky.py, variants of the synthetic tasks' demonstrations, and real
completions from the benchmark's runs) with the full Score each grader gave them.
Any difference in reward, correctness, extracted answer or secondary columns fails:
a grader change silently moves every number, so it must be deliberate (`--update`).
`--update` keeps the frozen inputs and re-scores them; inputs are harvested afresh
only for sources the file does not hold yet, and hand-written ones come from code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from importlib import metadata
from typing import Any

from bench.io import atomic_write_json
from bench.resources import BASELINES_DIR
from bench.regress.runs import Run
from bench.regress.tricky import HAND
from evaluators.grading import gsm8k, hotpotqa
from evaluators.grading import math as math_grading
from evaluators.types import Score

GRADERS_FILE = BASELINES_DIR / "graders.json"
GRADERS: dict[str, Callable[[str, Any], Score]] = {
    "gsm8k": lambda completion, gold: gsm8k.score(completion, gold, "strict"),
    "gsm8k_flexible": lambda completion, gold: gsm8k.score(completion, gold, "flexible"),
    "math": math_grading.score,
    "math_lighteval": lambda completion, gold: math_grading.score(completion, gold, grading="lighteval"),
    "hotpotqa": hotpotqa.score,
}
DEMO_TASKS = {"gsm8k_synth": "gsm8k", "math_synth": "math", "hotpotqa_synth": "hotpotqa"}
SAME_DEMOS = {"gsm8k": ("gsm8k_flexible",), "math": ("math_lighteval",)}  # graders also scored on a task's demos
DEMOS_PER_TASK = 12
SHIFT_DIGITS = str.maketrans("0123456789", "1234567890")  # a wrong answer of the same shape
SAMPLED_PROBLEMS_PER_RUN = 3  # all n completions of each


def item(grader: str, source: str, completion: str, gold: Any) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps([grader, completion, gold]).encode()).hexdigest()[:12]
    return {"id": f"{grader}/{source}/{digest}", "grader": grader, "source": source, "completion": completion, "gold": gold}


def golden(grader: str, completion: str, gold: Any) -> dict[str, Any]:
    """The grader's Score as JSON would store it; a grader that raises scores its error."""
    try:
        score = GRADERS[grader](completion, gold)
    except Exception as error:  # a broken grader must be reported item by item, not crash the check
        return {"error": f"{type(error).__name__}: {error}"}
    return json.loads(json.dumps(dataclasses.asdict(score)))


def demo_variants() -> list[dict[str, Any]]:
    """Demonstrations of the synthetic tasks, intact and broken in the usual ways."""
    from evaluators.tasks import get_task

    items = []
    for name, grader in DEMO_TASKS.items():
        task = get_task(name)
        for example in task.load("test")[:DEMOS_PER_TASK]:
            demo = task.format_demo(example)
            *reasoning, last = demo.splitlines()
            wrong = last.translate(SHIFT_DIGITS) if any(c.isdigit() for c in last) else last + " Atlantis"
            variants = [demo, "\n".join(reasoning), demo + "\n" + last.upper(), "\n".join([*reasoning, wrong])]
            for scorer in (grader, *SAME_DEMOS.get(grader, ())):
                items += [item(scorer, "demo", text, example.answer) for text in variants]
    return items


def sampled(runs: list[Run]) -> list[dict[str, Any]]:
    """Real completions of the benchmark's gsm8k_synth runs."""
    items = []
    for run in sorted(runs, key=lambda r: r.cell.id):
        grader = DEMO_TASKS[run.cell.dataset]
        lines = (run.path / "samples.jsonl").read_text().splitlines()[:SAMPLED_PROBLEMS_PER_RUN]
        for problem in map(json.loads, lines):
            items += [item(grader, "sample", text, problem["gold"]) for text in problem["completions"]]
    return items


def freeze(existing: list[dict[str, Any]], runs: list[Run]) -> list[dict[str, Any]]:
    """Inputs for the next graders.json: kept where frozen, harvested where missing, re-scored."""
    kept = [i for i in existing if i["source"] != "hand"]
    sources = {i["source"] for i in kept}
    with_demos = {i["grader"] for i in kept if i["source"] == "demo"}
    fresh = [*(i for i in demo_variants() if i["grader"] not in with_demos), *(sampled(runs) if "sample" not in sources else [])]
    inputs = {i["id"]: i for i in [*(item(g, "hand", c, gold) for g, c, gold in HAND), *kept, *fresh]}
    return [{**i, "score": golden(i["grader"], i["completion"], i["gold"])} for i in inputs.values()]


def load() -> list[dict[str, Any]]:
    return json.loads(GRADERS_FILE.read_text())["items"] if GRADERS_FILE.exists() else []


def write(items: list[dict[str, Any]]) -> None:
    atomic_write_json(GRADERS_FILE, {"math-verify": metadata.version("math-verify"), "items": items})


def changed(items: list[dict[str, Any]]) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Per grader, the (item, new score) of every frozen item whose score moved."""
    moved: dict[str, list] = {grader: [] for grader in sorted({i["grader"] for i in items})}
    for frozen in items:
        now = golden(frozen["grader"], frozen["completion"], frozen["gold"])
        if now != frozen["score"]:
            moved[frozen["grader"]].append((frozen, now))
    return moved


def score_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`correct True -> False, extra.strict True -> False`: only what moved."""
    a, b = _flat(old), _flat(new)
    return ", ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k))


def _flat(score: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in score.items() if k != "extra"}, **{f"extra.{k}": v for k, v in score.get("extra", {}).items()}}
