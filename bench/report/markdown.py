"""The leaderboard as a README-ready Markdown table (best cell per column in bold)."""

from __future__ import annotations

from bench.report.tables import Board, cell_text, legend


def leaderboard_markdown(board: Board) -> str:
    header = ["algorithm", "model", "seeds", *(f"{dataset} {column}" for dataset, column in board.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * len(board.columns)]
    for row in board.rows:
        cells = [row[0], row[1], str(board.seeds[row])]
        for col in board.columns:
            text = cell_text(board.mean.at[row, col], board.se.at[row, col], col[1])
            cells.append(f"**{text}**" if board.best.at[row, col] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{legend(board)}\n"
