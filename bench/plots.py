"""Paper-style figures: one fixed colour per policy, log2 k axis, SE bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def passk_figure(curves: dict[str, dict[str, float]], ks: list[int], title: str, stem: Path) -> list[Path]:
    """pass@k vs k for each named policy; saved as `stem.png` and `stem.pdf`."""
    fig, ax = plt.subplots(figsize=(3.4, 2.6), dpi=200)
    for i, (label, metrics) in enumerate(curves.items()):
        values = [metrics[f"pass@{k}"] for k in ks]
        errors = [metrics[f"pass@{k}_stderr"] for k in ks]
        colour = f"C{i}"
        ax.plot(ks, values, marker="o", markersize=3, color=colour, label=label)
        ax.fill_between(ks, [v - e for v, e in zip(values, errors)], [v + e for v, e in zip(values, errors)], color=colour, alpha=0.2, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path)
    plt.close(fig)
    return paths
