"""One look for every figure (run dirs and reports): a fixed colour per algorithm,
one-column size, vector + raster output.

Known algorithms always get the same colour. Other names (variants such as
`grpo[kl_coef=0.0]`, `grpo+dash`) take the spare colours in sorted order, so within
one report every figure agrees and no two names share a colour.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every table at INFO

COLUMN_WIDTH = 3.4  # inches: one column of a two-column paper
DPI = 200

COLOURS = {
    "base": "#7f7f7f",
    "sft": "#8c564b",
    "grpo": "#1f77b4",
    "dr_grpo": "#17becf",
    "dapo": "#9467bd",
    "ppo": "#bcbd22",
    "psr": "#2ca02c",
    "nsr": "#d62728",
    "w_reinforce": "#ff7f0e",
    "relift": "#e377c2",
    "superrl": "#393b79",
}
EXTRA_COLOURS = ["#000000", "#b8860b", "#66c2a5", "#e7298a", "#a6761d", "#1b9e77", "#7570b3", "#fdb462", "#80b1d3", "#b3de69"]

RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF, accepted by paper venues
}


def palette(names) -> dict[str, str]:
    """name -> colour for every name: known ones fixed, the rest the spare colours in sorted order."""
    spare = sorted(set(names) - set(COLOURS))
    return {n: COLOURS[n] for n in names if n in COLOURS} | {n: EXTRA_COLOURS[i % len(EXTRA_COLOURS)] for i, n in enumerate(spare)}


def order(names) -> list[str]:
    """Known algorithms in map order (base first), then the rest alphabetically."""
    known = list(COLOURS)
    return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def new_figure(height: float = 2.5, rows: int = 1) -> tuple[Figure, object]:
    plt.rcParams.update(RC)  # only this package draws figures in these processes
    return plt.subplots(rows, 1, figsize=(COLUMN_WIDTH, height), dpi=DPI, layout="constrained")


def legend(fig: Figure, ax) -> None:
    """Inside the axes for a few entries; below them, the figure grown to fit, for many."""
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) <= 4:
        ax.legend(frameon=False)
        return
    fig.set_figheight(fig.get_figheight() + 0.13 * -(-len(handles) // 3))
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)


def save(fig: Figure, stem: Path) -> list[Path]:
    """Save `stem.png` and `stem.pdf` and close the figure; same data, same bytes (no PDF creation date)."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, metadata={"CreationDate": None} if path.suffix == ".pdf" else None)
    plt.close(fig)
    return paths
