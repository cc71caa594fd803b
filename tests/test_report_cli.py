"""bench.report writes into ./report/ unless told, and says so when an input or a k is not there."""

from __future__ import annotations

import pytest

from bench.report.__main__ import main
from tests.report_helpers import write_run


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "grpo", 0, {1: (0.2, 0.05), 2: (0.3, 0.05)}, {1: (0.1, 0.02), 2: (0.2, 0.02)})
    return root


def test_the_default_output_is_report_in_the_current_directory_never_results(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([str(runs), "--ks", "1,2"]) == 0
    assert (tmp_path / "report" / "leaderboard.md").exists() and not (tmp_path / "results").exists()
    assert "-> report/" in capsys.readouterr().out


def test_curated_writes_results(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([str(runs), "--ks", "1,2", "--curated"]) == 0
    assert (tmp_path / "results" / "leaderboard.md").exists()


def test_a_missing_input_dir_is_an_error_naming_it(runs, tmp_path, caplog):
    assert main([str(runs), str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "nowhere" in caplog.text and not (tmp_path / "out").exists()


def test_an_unevaluated_k_is_warned_about(runs, tmp_path, capsys):
    assert main([str(runs), "--ks", "1,64", "--out", str(tmp_path / "out")]) == 0
    assert "--ks 64 not evaluated" in capsys.readouterr().err


def test_min_seeds_sets_when_a_claim_can_decide_and_the_reason_is_printed(runs, tmp_path, capsys):
    # grpo pass@1 0.2 ± 0.05 vs sft 0.05 ± 0.01: gap 0.15 in [+0.050, +0.250] (± 1.96·hypot(0.05, 0.01)), once one seed may decide
    write_run(runs, "sft", 0, {1: (0.05, 0.01), 2: (0.15, 0.01)}, {1: (0.1, 0.02), 2: (0.2, 0.02)})
    assert main([str(runs), "--ks", "1,2", "--out", str(tmp_path / "three")]) == 0  # one seed < the default 3
    printed = capsys.readouterr().out
    assert (
        "not enough runs On-policy RL beats SFT (fewer than 3 seeds: grpo on gsm8k_synth (tiny) (1 seed), sft on gsm8k_synth (tiny) (1 seed); "
        "run at least 3 seeds of every side to estimate how many would settle it)"
    ) in printed
    claims = (tmp_path / "three" / "claims.md").read_text()
    assert "| On-policy RL beats SFT | **not enough runs** (fewer than 3 seeds:" in claims
    assert "Why not decided: no runs to compare." in claims
    assert "fewer than 3 seeds: grpo on gsm8k_synth (tiny) (1 seed)" in (tmp_path / "three" / "index.html").read_text()

    assert main([str(runs), "--ks", "1,2", "--out", str(tmp_path / "one"), "--min-seeds", "1"]) == 0
    assert "| On-policy RL beats SFT | **holds** |" in (tmp_path / "one" / "claims.md").read_text()


@pytest.mark.parametrize("value, message", [("0", "needs at least 1 seed"), ("two", "is not a whole number")])
def test_min_seeds_rejects_bad_values(runs, value, message, capsys):
    with pytest.raises(SystemExit):
        main([str(runs), "--min-seeds", value])
    assert message in capsys.readouterr().err
