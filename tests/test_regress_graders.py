"""The exact grader check: frozen completions keep their scores, and a broken scorer is named."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.regress import graders
from tests.regress_helpers import copy_repo, patch, regress_in


def test_every_grader_reproduces_its_frozen_scores() -> None:
    items = graders.load()
    kinds = Counter((i["grader"], i["source"]) for i in items)
    for grader in graders.GRADERS:
        assert kinds[grader, "hand"] and kinds[grader, "demo"], f"{grader} has too few frozen items"
    assert kinds["gsm8k", "sample"], "no real completions from the benchmark's runs"
    assert all(not moved for moved in graders.changed(items).values())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # strict extraction never finds `#### N`: golds stop parsing, every gsm8k item raises
        ("    match = _STRICT.search(completion)\n", "    match = None  # broken on purpose\n"),
        # equal numbers compare unequal: only the verdicts move
        ("    return x is not None and x == canonical_number(b)\n", "    return x is not None and x != canonical_number(b)  # broken on purpose\n"),
    ],
    ids=["strict-extraction-broken", "comparison-flipped"],
)
def test_broken_gsm8k_scorer_fails_the_check_naming_its_items(tmp_path, old: str, new: str) -> None:
    """In a throwaway copy of the repo, the GSM8K grader is broken and the check run there."""
    repo = copy_repo(tmp_path / "repo")
    patch(repo / "evaluators" / "grading" / "gsm8k.py", old, new)
    result = regress_in(repo, "--graders-only", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REGRESSED graders/gsm8k:" in result.stdout
    assert "gsm8k/hand/" in result.stdout  # the items are named
    verdicts = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines() if line.startswith("graders/")}
    assert verdicts["graders/gsm8k"] == "REGRESSED"
    assert verdicts["graders/math"] == verdicts["graders/hotpotqa"] == "ok"
