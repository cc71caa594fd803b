"""Figure looks and captions: one fixed, distinct look per algorithm in every figure, captions
that say what the bands are and over how many seeds, and the HTML page's sort controls."""

from __future__ import annotations

import itertools

import pandas as pd

from bench.report.__main__ import main
from bench.report.load import load_runs
from bench.report.plots import caption, make_plots
from bench.report.target import Threshold
from bench.style import LOOKS, MARKS_PER_LINE, draw_line, looks, new_figure
from tests.report_helpers import DATASET, write_run

VARIANTS = [f"grpo[kl_coef={c}]" for c in range(12)] + ["grpo+dash", "grpo+sequential", "dapo+filter"]


def test_every_algorithm_keeps_its_look_whatever_else_is_drawn():
    alone = {name: looks([name])[name] for name in LOOKS}
    crowded = looks([*VARIANTS, *LOOKS])
    assert all(crowded[name] == look for name, look in alone.items())
    assert looks(["grpo", "dapo+filter"])["dapo+filter"] == looks(["dapo+filter", "nsr", "grpo"])["dapo+filter"]  # spares: sorted order


def test_no_two_algorithms_look_alike_and_colour_never_tells_them_apart_alone():
    known = list(LOOKS.values())
    assert len({look.colour for look in known}) == len(known)  # distinct colours
    assert len({look.marker for look in known}) == len(known)  # and distinct markers too
    every = looks([*VARIANTS, *LOOKS]).values()
    assert all(a != b for a, b in itertools.combinations(every, 2))  # colour + marker + line style: never all three shared
    # the pairs the issue named (close in hue for colour-blind readers) and the one that coincides
    for a, b in [("nsr", "w_reinforce"), ("nsr", "psr"), ("psr", "w_reinforce"), ("grpo", "superrl")]:
        assert LOOKS[a].marker != LOOKS[b].marker
    assert LOOKS["grpo"].linestyle != LOOKS["superrl"].linestyle  # superrl drawn over grpo leaves gaps grpo shows through


def test_long_curves_carry_a_few_markers_shifted_per_curve():
    fig, ax = new_figure()
    x = list(range(30))
    draw_line(ax, x, x, "grpo", LOOKS["grpo"], slot=0)
    draw_line(ax, x, x, "superrl", LOOKS["superrl"], slot=1)
    first, second = ax.get_lines()
    assert first.get_markevery() == (0, 4) and second.get_markevery() == (1, 4)  # ceil(30 / 8) = 4: 8 markers each
    assert len(x[0::4]) == MARKS_PER_LINE and set(x[0::4]).isdisjoint(x[1::4])  # the same points, never the same markers
    assert first.get_markerfacecolor() == "none"  # hollow: a marker drawn over another still shows


def test_captions_name_the_band_and_the_seed_count():
    assert caption(pd.Series([3, 3])) == "bands: ±1 SE over seeds (3 seeds)"
    assert caption(pd.Series([1])) == "bands: ±1 SE over problems (1 seed)"
    assert caption(pd.Series([1, 3])) == "bands: ±1 SE over seeds (1-3 seeds; 1-seed curves: the run's SE over problems)"
    assert caption(pd.Series([1]), own_se=False) == "no bands (1 seed)"
    assert caption(pd.Series([2, 2]), "error bars", own_se=False) == "error bars: ±1 SE over seeds (2 seeds)"


def test_each_figure_gets_the_caption_of_its_data(tmp_path):
    steps = [{"step": s, "time/step": 1.0, "rollout/reward_mean": 0.1 * s, f"eval/{DATASET}/pass@1": 0.1 * s} for s in range(1, 6)]
    base = {1: (0.1, 0.02), 8: (0.4, 0.02)}
    for seed in range(3):
        write_run(tmp_path / "runs", "grpo", seed, {1: (0.2 + 0.01 * seed, 0.02), 8: (0.6, 0.02)}, base, steps=steps)
    write_run(tmp_path / "runs", "sft", 0, {1: (0.3, 0.02), 8: (0.5, 0.02)}, base)
    runs = load_runs([tmp_path / "runs"])
    _, captions, _ = make_plots(runs.results, runs.curves, {("tiny", DATASET): Threshold(0.3)}, tmp_path / "plots")
    # pass@k: grpo and base 3 seeds, sft 1 (its band: its SE over problems); rewards: grpo alone, 3 seeds
    assert captions[f"passk_{DATASET}"] == "bands: ±1 SE over seeds (1-3 seeds; 1-seed curves: the run's SE over problems)"
    assert captions[f"reward_vs_step_{DATASET}"] == "bands: ±1 SE over seeds (3 seeds)"


def test_html_page_has_sort_arrows_and_the_figure_captions(tmp_path):
    steps = [{"step": s, "time/step": 1.0, "rollout/reward_mean": 0.1 * s} for s in range(1, 4)]
    write_run(tmp_path / "runs", "grpo", 0, {1: (0.2, 0.05), 2: (0.3, 0.05)}, {1: (0.1, 0.02), 2: (0.2, 0.02)}, steps=steps)
    assert main([str(tmp_path / "runs"), "--ks", "1,2", "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert '<table class="sortable" id="leaderboard">' in page and '<table class="sortable" id="claims">' in page
    assert 'th::after { content: " \\2195"' in page  # every header: an up-down arrow until sorted
    assert "th[aria-sort=ascending]::after" in page and "th[aria-sort=descending]::after" in page
    assert 'th.setAttribute("aria-sort", dir === "1" ? "ascending" : "descending")' in page
    assert "<script src" not in page and "http" not in page.split("<script>")[1]  # inline, no network
    assert f"<figcaption>passk_{DATASET}: bands: ±1 SE over problems (1 seed)" in page
    assert f"<figcaption>reward_vs_step_{DATASET}: no bands (1 seed)" in page
