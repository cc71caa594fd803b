"""The leaderboard as a booktabs LaTeX table (best cell per column in \\textbf)."""

from __future__ import annotations

from bench.report.tables import MISSING, Board, cell_text

SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text: str) -> str:
    return "".join(SPECIAL.get(c, c) for c in text)


def latex_cell(board: Board, row: tuple[str, str], col: tuple[str, str]) -> str:
    text = cell_text(board.mean.at[row, col], board.se.at[row, col], col[1], pm="$\\pm$")
    text = "--" if text == MISSING else text
    return f"\\textbf{{{text}}}" if board.best.at[row, col] else text


def leaderboard_latex(board: Board) -> str:
    """A bare tabular to `\\input` inside your own table float (needs booktabs); datasets head their columns."""
    datasets = list(dict.fromkeys(dataset for dataset, _ in board.columns))
    spans = [sum(d == dataset for d, _ in board.columns) for dataset in datasets]
    groups, rules, start = [], [], 4
    for dataset, span in zip(datasets, spans):
        groups.append(f"\\multicolumn{{{span}}}{{c}}{{{escape(dataset)}}}")
        rules.append(f"\\cmidrule(lr){{{start}-{start + span - 1}}}")
        start += span
    lines = [
        "\\begin{tabular}{ll" + "r" * (1 + len(board.columns)) + "}",
        "\\toprule",
        " & & & " + " & ".join(groups) + " \\\\",
        " ".join(rules),
        "algorithm & model & seeds & " + " & ".join(escape(column) for _, column in board.columns) + " \\\\",
        "\\midrule",
    ]
    for row in board.rows:
        cells = [escape(row[0]), escape(row[1]), str(board.seeds[row]), *(latex_cell(board, row, col) for col in board.columns)]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"
