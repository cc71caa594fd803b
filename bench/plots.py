"""Paper-style figures: one fixed colour per policy, log2 k axis, SE bands."""

from __future__ import annotations

from pathlib import Path

from bench.style import legend, new_figure, palette, save


def passk_figure(curves: dict[str, dict[str, float]], ks: list[int], title: str, stem: Path) -> list[Path]:
    """pass@k vs k for each named policy; saved as `stem.png` and `stem.pdf`."""
    fig, ax = new_figure(2.6)
    colours = palette(curves)
    for label, metrics in curves.items():
        values = [metrics[f"pass@{k}"] for k in ks]
        errors = [metrics[f"pass@{k}_stderr"] for k in ks]
        ax.plot(ks, values, marker="o", markersize=3, color=colours[label], label=label)
        ax.fill_between(ks, [v - e for v, e in zip(values, errors)], [v + e for v, e in zip(values, errors)], color=colours[label], alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    legend(fig, ax)
    return save(fig, stem)
