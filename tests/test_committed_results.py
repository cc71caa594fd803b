"""The committed results/ are what `python -m bench.report results/suite --out results` makes of the
suite's committed run records (the tables byte for byte, the figures up to anti-aliasing), so no table
or verdict is edited by hand."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bench.report.__main__ import main
from tests.cli_helpers import REPO

REGENERATED = ["leaderboard.md", "claims.md"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main([str(REPO / "results/suite"), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", REGENERATED)
def test_the_committed_tables_are_the_suites_records_reported(regenerated, name):
    assert (regenerated / name).read_text() == (REPO / "results" / name).read_text()


def test_every_committed_figure_is_one_the_records_make(regenerated):
    """The same figures, pixel for pixel up to anti-aliasing: another CPU's vectorised log can move an
    edge by a fraction of a pixel, which changes the bytes but not the picture."""
    committed, made = (sorted(p.name for p in (root / "plots").iterdir()) for root in (REPO / "results", regenerated))
    assert committed == made
    for name in (n for n in committed if n.endswith(".png")):
        ours, theirs = (plt.imread(root / "plots" / name) for root in (REPO / "results", regenerated))
        assert ours.shape == theirs.shape and np.abs(ours - theirs).mean() < 1e-3, name
