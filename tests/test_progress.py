"""Evaluation shows its progress on a terminal and stays quiet in CI and in logs."""

from __future__ import annotations

import io
import sys

import pytest

from bench.evaluate import evaluate
from bench.models import new_tiny_model
from bench.rollout import Sampling
from bench.rollout.hf import HFEngine
from evaluators.tasks import get_task
from tests.rl_helpers import TINY


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as an interactive stderr does."""

    def isatty(self) -> bool:
        return True


def run_eval(monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO) -> str:
    monkeypatch.setattr(sys, "stderr", stderr)
    model, tokenizer = new_tiny_model(TINY, 0)
    task = get_task("gsm8k_synth")
    problems = task.load("test")[:6]
    engine = HFEngine(model, tokenizer, model.device, batch_size=8)  # 2 prompts x 4 samples per call
    result = evaluate(engine, task, tokenizer, problems, 4, [1, 4], Sampling(1.0, 1.0, 8), seed=0)
    assert len(result.samples) == 6
    return stderr.getvalue()


def test_eval_bar_counts_problems_and_samples_per_second_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    shown = run_eval(monkeypatch, Terminal())
    assert "eval" in shown and "2/6" in shown and "6/6" in shown and "samples_s=" in shown


@pytest.mark.parametrize("ci", [True, False])
def test_eval_bar_is_quiet_in_ci_and_off_a_terminal(monkeypatch: pytest.MonkeyPatch, ci: bool) -> None:
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    assert run_eval(monkeypatch, Terminal() if ci else io.StringIO()) == ""
