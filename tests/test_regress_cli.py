"""`python -m bench.regress --runs ...` on hand-made eval.json files: what passes, what fails."""

from __future__ import annotations

import json

import pytest

from bench.regress import baselines
from bench.regress.__main__ import main
from bench.regress.suite import CELLS, select
from tests.regress_helpers import fake_run, nested

GRPO = select(["grpo-gsm8k_synth-s0"])[0]


def hand_made_baseline(cell, value: float, stderr: float, deterministic: bool = False) -> dict:
    """pass@1 = value ± stderr; the rest of the evaluation as the suite defines it."""
    return {
        "cell": cell.id,
        "settings": cell.settings,
        "metrics": {"pass@1": {"value": value, "stderr": stderr, "higher_is_better": True}},
        "deterministic": deterministic,
        "fingerprint": None,
        "n": 16,
        "k": [1, 2, 4, 8, 16],
        "n-problems": 200,
        "task": {"name": "gsm8k_synth", "version": "1"},
        "sampling": {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 48, "seed": 7919},
    }


@pytest.fixture
def baseline_dir(tmp_path, monkeypatch):
    root = tmp_path / "baselines"
    root.mkdir()
    monkeypatch.setattr(baselines, "BASELINE_DIR", root)
    return root


def regress(capsys, *args: str) -> tuple[int, str]:
    code = main(["--only", GRPO.id, *args])
    return code, capsys.readouterr().out


# The statistical rule on a hand-made baseline pass@1 = 0.50 ± 0.03 and a new se of 0.04:
# tolerance = 3 * sqrt(0.03^2 + 0.04^2) = 3 * 0.05 = 0.15.
@pytest.mark.parametrize(
    ("new", "code", "verdict"),
    [
        (0.40, 0, "ok"),  # 0.10 worse: inside 0.15
        (0.30, 1, "REGRESSED"),  # 0.20 worse: beyond 0.15
        (0.70, 0, "improved"),  # 0.20 better: never a failure
    ],
)
def test_statistical_rule(tmp_path, baseline_dir, capsys, new, code, verdict) -> None:
    baseline = hand_made_baseline(GRPO, 0.50, 0.03)
    (baseline_dir / f"{GRPO.id}.json").write_text(json.dumps(baseline))
    run = fake_run(tmp_path / "runs", GRPO, baseline, {"pass@1": (new, 0.04)})
    got, out = regress(capsys, "--runs", str(run))
    row = next(line for line in out.splitlines() if line.startswith(f"{GRPO.id}/pass@1"))
    assert got == code and row.split()[-1] == verdict, out
    assert "0.1500 z=3" in row
    if code:
        assert f"REGRESSED {GRPO.id}/pass@1" in out  # named in the summary


def test_z_is_configurable(tmp_path, baseline_dir, capsys) -> None:
    # z = 1: tolerance = 1 * 0.05, so 0.10 worse now fails
    baseline = hand_made_baseline(GRPO, 0.50, 0.03)
    (baseline_dir / f"{GRPO.id}.json").write_text(json.dumps(baseline))
    run = fake_run(tmp_path / "runs", GRPO, baseline, {"pass@1": (0.40, 0.04)})
    assert regress(capsys, "--runs", str(run), "--z", "1")[0] == 1


def test_unchanged_numbers_pass_on_the_committed_baselines(tmp_path, capsys) -> None:
    """Every cell reproduced exactly, in the baselines' own environment (so the exact rule applies)."""
    runs = [str(fake_run(tmp_path, cell, baselines.load(cell), fingerprint=baselines.load(cell)["fingerprint"])) for cell in CELLS]
    code = main(["--runs", *runs])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "REGRESSED" not in out and "exact" in out


def test_degraded_eval_json_is_flagged_by_both_rules(tmp_path, capsys) -> None:
    """pass@1 of the committed GRPO baseline lowered by 5 statistical tolerances fails anywhere."""
    baseline = baselines.load(GRPO)
    se = baseline["metrics"]["pass@1"]["stderr"]
    worse = baseline["metrics"]["pass@1"]["value"] - 5 * 3 * (2**0.5) * se  # 5x the z=3 band with equal SEs
    for fingerprint in (baseline["fingerprint"], None):
        run = fake_run(tmp_path, GRPO, baseline, {"pass@1": (worse, se)}, fingerprint)
        code, out = regress(capsys, "--runs", str(run))
        assert code == 1 and f"REGRESSED {GRPO.id}/pass@1" in out, out


def test_exact_rule_catches_what_the_band_forgives(tmp_path, capsys) -> None:
    """A drop of 1e-4 is noise to the statistical rule, a change of behaviour to the exact one."""
    baseline = baselines.load(GRPO)
    assert baseline["deterministic"]
    ref = baseline["metrics"]["pass@1"]
    changed = {"pass@1": (ref["value"] - 1e-4, ref["stderr"])}
    same_env = fake_run(tmp_path, GRPO, baseline, changed, baseline["fingerprint"])
    elsewhere = fake_run(tmp_path, GRPO, baseline, changed)
    assert regress(capsys, "--runs", str(same_env))[0] == 1
    code, out = regress(capsys, "--runs", str(elsewhere))
    assert code == 0 and "statistical rule, not exact" in out


def test_run_of_another_size_is_not_compared(tmp_path, capsys) -> None:
    baseline = baselines.load(GRPO)
    run = fake_run(tmp_path, GRPO, baseline)
    report = json.loads((run / "eval.json").read_text())
    report["config"] = nested({**GRPO.settings, "eval.problems": 50})
    (run / "eval.json").write_text(json.dumps(report))
    code, out = regress(capsys, "--runs", str(run))
    assert code == 1 and "eval.problems=50 (suite: 200)" in out


def test_unknown_cell_is_a_usage_error(capsys) -> None:
    assert main(["--only", "nope-gsm8k_synth-s0"]) == 2
