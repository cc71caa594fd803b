"""The regression suite for real: one cell re-run against the committed baselines (slow)."""

from __future__ import annotations

import pytest

from tests.regress_helpers import REPO, copy_repo, patch, regress_in

GRPO = "grpo-gsm8k_synth-s0"


@pytest.mark.slow
def test_unchanged_code_reproduces_the_grpo_baseline(tmp_path) -> None:
    result = regress_in(REPO, "--only", GRPO, "--out", str(tmp_path / "runs"), timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"{GRPO}/pass@1" in result.stdout


@pytest.mark.slow
def test_flipped_advantage_sign_is_flagged(tmp_path) -> None:
    """GRPO pushed away from correct answers: its pass@k must fall below the baseline."""
    repo = copy_repo(tmp_path / "repo")
    patch(
        repo / "algorithms" / "advantages.py",
        "    return (rewards.float() - mean) / (std + 1e-6)\n",
        "    return -(rewards.float() - mean) / (std + 1e-6)  # flipped on purpose\n",
    )
    result = regress_in(repo, "--only", GRPO, "--out", str(tmp_path / "runs"), timeout=1800)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert f"REGRESSED {GRPO}/pass@1" in result.stdout
