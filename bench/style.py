"""One look for every figure (run dirs and reports): a fixed colour, marker and line
style per algorithm, one-column size, vector + raster output.

Colours are colour-blind safe: Okabe & Ito's eight ("Color Universal Design",
jfly.uni-koeln.de/color), yellow left out as unreadable on white, then Paul Tol's
muted scheme (personal.sron.nl/~pault, "Colour schemes and templates", 2021) for the
rest. Colour never carries an algorithm alone: each also has its own marker, and
lines that often coincide (grpo and superrl, base and the rest at large k) differ
in line style, so one drawn over another still shows.

Known algorithms always look the same, in every figure. Other names (variants such
as `grpo[kl_coef=0.0]`, `grpo+dash`) take the spare looks in sorted order, so within
one report every figure agrees and no two names look alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every table at INFO

COLUMN_WIDTH = 3.4  # inches: one column of a two-column paper
DPI = 200
MARKS_PER_LINE = 8  # markers on a long curve: enough to tell lines apart, few enough to read the line


@dataclass(frozen=True)
class Look:
    colour: str
    marker: str
    linestyle: str | tuple  # a matplotlib name or an (offset, dashes) pattern


LOOKS = {
    "base": Look("#000000", "x", "--"),  # Okabe-Ito black
    "sft": Look("#E69F00", "P", ":"),  # Okabe-Ito orange
    "grpo": Look("#0072B2", "o", "-"),  # Okabe-Ito blue
    "dr_grpo": Look("#56B4E9", "<", "--"),  # Okabe-Ito sky blue
    "dapo": Look("#332288", ">", "-."),  # Tol indigo
    "ppo": Look("#999933", "*", ":"),  # Tol olive
    "psr": Look("#009E73", "^", "-"),  # Okabe-Ito bluish green
    "nsr": Look("#D55E00", "v", "-"),  # Okabe-Ito vermillion
    "w_reinforce": Look("#CC79A7", "D", "--"),  # Okabe-Ito reddish purple
    "relift": Look("#44AA99", "h", "-."),  # Tol teal
    "superrl": Look("#882255", "s", (0, (5, 1.5, 1, 1.5))),  # Tol wine, dash-dot: grpo shows through where they coincide
}
# Tol muted's remaining colours (its pale sand left out), markers and dashes not used above; cycle
# lengths 4, 10 and 3 repeat a whole look only after lcm = 60 spare names
SPARE_COLOURS = ["#CC6677", "#117733", "#88CCEE", "#AA4499"]
SPARE_MARKERS = ["d", "p", "8", "H", "X", "1", "2", "3", "4", "+"]
SPARE_LINESTYLES = [(0, (3, 1)), (0, (1, 1)), (0, (4, 1, 1, 1, 1, 1))]

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


def looks(names) -> dict[str, Look]:
    """name -> look for every name: known ones fixed, the rest the spare looks in sorted order (distinct from each other and the known)."""
    spare = sorted(set(names) - set(LOOKS))
    extra = {
        n: Look(SPARE_COLOURS[i % len(SPARE_COLOURS)], SPARE_MARKERS[i % len(SPARE_MARKERS)], SPARE_LINESTYLES[i % len(SPARE_LINESTYLES)])
        for i, n in enumerate(spare)
    }
    return {n: LOOKS[n] for n in names if n in LOOKS} | extra


def order(names) -> list[str]:
    """Known algorithms in map order (base first), then the rest alphabetically."""
    known = list(LOOKS)
    return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def draw_line(ax, x, y, name: str, look: Look, slot: int = 0) -> None:
    """One curve in its look: hollow markers (one drawn over another still shows), at most
    MARKS_PER_LINE of them, shifted by `slot` so curves that coincide mark different points."""
    every = max(1, -(-len(x) // MARKS_PER_LINE))
    ax.plot(x, y, color=look.colour, linestyle=look.linestyle, marker=look.marker, markevery=(slot % every, every),
            markersize=3.5, markerfacecolor="none", markeredgewidth=0.8, linewidth=1.1, label=name)


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
