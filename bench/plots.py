"""Paper-style figures: one fixed look per policy, log2 k axis, SE bands."""

from __future__ import annotations

from pathlib import Path

from bench.style import draw_line, legend, looks, new_figure, save

CAPTION = "bands: ±1 SE over problems (1 seed)"  # one run: its evaluation's stderr over test problems


def passk_figure(curves: dict[str, dict[str, float]], ks: list[int], title: str, stem: Path) -> list[Path]:
    """pass@k vs k for each named policy of one run; saved as `stem.png` and `stem.pdf`."""
    fig, ax = new_figure(2.6)
    styles = looks(curves)
    for slot, (label, metrics) in enumerate(curves.items()):
        values = [metrics[f"pass@{k}"] for k in ks]
        errors = [metrics[f"pass@{k}_stderr"] for k in ks]
        draw_line(ax, ks, values, label, styles[label], slot)
        ax.fill_between(ks, [v - e for v, e in zip(values, errors)], [v + e for v, e in zip(values, errors)], color=styles[label].colour, alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}\n{CAPTION}")
    ax.grid(alpha=0.3)
    legend(fig, ax)
    return save(fig, stem)
