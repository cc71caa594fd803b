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
